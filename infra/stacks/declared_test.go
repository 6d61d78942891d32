package stacks

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

// declaredParams returns the template's published declarations by parameter
// name, each value's Fn::Join rendered with every Ref and Fn::GetAtt as the
// logical ID it names (as ref renders template properties).
func declaredParams(t *testing.T, tmpl assertions.Template) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, p := range resources(t, tmpl, "AWS::SSM::Parameter") {
		name := fmt.Sprint(p["Name"])
		if !strings.Contains(name, "/declared/") {
			continue
		}
		v, err := declaredJSON(p["Value"])
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		out[name] = v
	}
	return out
}

// declaredJSON renders a published value: the template's Fn::Join with each
// intrinsic replaced by its logical ID, parsed.
func declaredJSON(v any) (map[string]any, error) {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case map[string]any:
		args, ok := x["Fn::Join"].([]any)
		if !ok || len(args) != 2 {
			return nil, fmt.Errorf("value %v: want a string or Fn::Join", x)
		}
		parts, _ := args[1].([]any)
		for _, p := range parts {
			if s, ok := p.(string); ok {
				text += s
				continue
			}
			id := ref(p)
			if id == "" || strings.HasPrefix(id, "{") {
				return nil, fmt.Errorf("value: unexpected intrinsic %v", p)
			}
			text += id
		}
	default:
		return nil, fmt.Errorf("value %T: want a string or Fn::Join", v)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, fmt.Errorf("value %q: %w", text, err)
	}
	return out, nil
}

// sgRuleText renders one rule, template (PascalCase) or published (camelCase)
// properties alike, as "ingress tcp 443-443 peer".
func sgRuleText(dir string, r map[string]any) string {
	get := func(k string) any {
		if v, ok := r[k]; ok {
			return v
		}
		return r[strings.ToLower(k[:1])+k[1:]]
	}
	peer := ""
	for _, k := range []string{"CidrIp", "CidrIpv6", "SourceSecurityGroupId", "DestinationSecurityGroupId", "SourcePrefixListId", "DestinationPrefixListId"} {
		if v := get(k); v != nil {
			peer = ref(v)
		}
	}
	return fmt.Sprintf("%s %v %v-%v %s", dir, get("IpProtocol"), ref(get("FromPort")), ref(get("ToPort")), peer)
}

// TestDeclaredRules: every security group and network ACL of the network stack
// is published under /flowq/<preset>/declared with each of its rules, and the
// IDs in the values are the template's own resources (resolved at deploy time).
// The oracle is the template's rules, read independently of declared.go.
func TestDeclaredRules(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
	}{
		{"tradai", nil}, {"menotime", nil}, {"menotime", map[string]string{"bastionCidr": "203.0.113.0/24"}},
	} {
		t.Run(tc.preset+fmt.Sprint(len(tc.ctx)), func(t *testing.T) {
			s := synth(t, tc.preset, tc.ctx)
			params := declaredParams(t, s.network)

			// The template's own rules, by group.
			want := map[string][]string{}
			for id, p := range resources(t, s.network, "AWS::EC2::SecurityGroup") {
				want[id] = []string{}
				for _, k := range []string{"SecurityGroupIngress", "SecurityGroupEgress"} {
					rules, _ := p[k].([]any)
					for _, r := range rules {
						want[id] = append(want[id], sgRuleText(strings.ToLower(strings.TrimPrefix(k, "SecurityGroup")), r.(map[string]any)))
					}
				}
			}
			for _, p := range resources(t, s.network, "AWS::EC2::SecurityGroupIngress") {
				want[ref(p["GroupId"])] = append(want[ref(p["GroupId"])], sgRuleText("ingress", p))
			}
			for _, p := range resources(t, s.network, "AWS::EC2::NetworkAclEntry") {
				dir := "ingress"
				if p["Egress"] == true {
					dir = "egress"
				}
				pr, _ := p["PortRange"].(map[string]any)
				want[ref(p["NetworkAclId"])] = append(want[ref(p["NetworkAclId"])],
					fmt.Sprintf("%s %v %v %v %v-%v %v", dir, p["RuleNumber"], p["Protocol"], p["RuleAction"], pr["From"], pr["To"], p["CidrBlock"]))
			}
			for id := range resources(t, s.network, "AWS::EC2::NetworkAcl") {
				want[id] = append(want[id], []string{}...)
			}

			got := map[string][]string{}
			prefix := DeclaredPath(s.cfg) + "/"
			for name, v := range params {
				if !strings.HasPrefix(name, prefix) {
					t.Errorf("parameter %s: not under %s", name, prefix)
				}
				if v["version"] != float64(DeclaredVersion) {
					t.Errorf("%s: version %v", name, v["version"])
				}
				id := fmt.Sprint(v["id"])
				if !strings.HasSuffix(name, "/"+id) {
					t.Errorf("%s: id %s, want the resource it is named after", name, id)
				}
				rules := []string{}
				switch v["kind"] {
				case DeclaredGroupKind:
					for _, dir := range []string{"ingress", "egress"} {
						l, _ := v[dir].([]any)
						for _, r := range l {
							rules = append(rules, sgRuleText(dir, r.(map[string]any)))
						}
					}
				case DeclaredACLKind:
					l, _ := v["entries"].([]any)
					for _, e := range l {
						e := e.(map[string]any)
						dir := "ingress"
						if e["egress"] == true {
							dir = "egress"
						}
						pr, _ := e["portRange"].(map[string]any)
						rules = append(rules, fmt.Sprintf("%s %v %v %v %v-%v %v", dir, e["ruleNumber"], e["protocol"], e["ruleAction"], pr["from"], pr["to"], e["cidrBlock"]))
					}
				default:
					t.Errorf("%s: kind %v", name, v["kind"])
				}
				got[id] = append(got[id], rules...)
			}
			for _, m := range []map[string][]string{got, want} {
				for k := range m {
					sort.Strings(m[k])
				}
			}
			if d := cmp.Diff(got, want); d != "" {
				t.Errorf("published rules (-got +want):\n%s", d)
			}
		})
	}
}

// TestDeclaredWalk: rules are found by walking the stack, wherever they were
// added; a group without egress rules declares EC2's default allow-all; a group
// with more rules than one parameter holds is split into parts of the same id.
func TestDeclaredWalk(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Walk"), nil)
	vpc := awsec2.NewCfnVPC(stack, jsii.String("VPC"), &awsec2.CfnVPCProps{CidrBlock: jsii.String("10.0.0.0/16")})
	open := awsec2.NewCfnSecurityGroup(stack, jsii.String("Open"), &awsec2.CfnSecurityGroupProps{VpcId: vpc.Ref(), GroupDescription: jsii.String("no egress list")})
	big := awsec2.NewCfnSecurityGroup(stack, jsii.String("Big"), &awsec2.CfnSecurityGroupProps{VpcId: vpc.Ref(), GroupDescription: jsii.String("many rules")})
	for i := range 45 {
		awsec2.NewCfnSecurityGroupIngress(stack, jsii.String(fmt.Sprintf("BigIn%d", i)), &awsec2.CfnSecurityGroupIngressProps{
			GroupId: big.AttrGroupId(), IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(float64(1000 + i)), ToPort: jsii.Number(float64(1000 + i)),
			SourceSecurityGroupId: open.AttrGroupId(), Description: jsii.String(strings.Repeat("x", 60)),
		})
	}
	awsec2.NewCfnSecurityGroupEgress(stack, jsii.String("OpenOut6"), &awsec2.CfnSecurityGroupEgressProps{
		GroupId: open.AttrGroupId(), IpProtocol: jsii.String("-1"), CidrIpv6: jsii.String("::/0"),
	})
	PublishDeclared(stack, Config{Preset: Preset{Name: "walk"}})
	tmpl := assertions.Template_FromStack(stack, nil)

	params := declaredParams(t, tmpl)
	var names []string
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"/flowq/walk/declared/security-groups/Big/1", "/flowq/walk/declared/security-groups/Big/2",
		"/flowq/walk/declared/security-groups/Big/3", "/flowq/walk/declared/security-groups/Open"}
	if d := cmp.Diff(names, want); d != "" {
		t.Fatalf("parameters (-got +want):\n%s", d)
	}
	n := 0
	for _, name := range want[:3] {
		l, _ := params[name]["ingress"].([]any)
		n += len(l)
		if params[name]["id"] != "Big" {
			t.Errorf("%s: id %v, want Big", name, params[name]["id"])
		}
	}
	if n != 45 {
		t.Errorf("Big's parts hold %d rules, want 45", n)
	}
	var egress []string
	for _, r := range params[want[3]]["egress"].([]any) {
		egress = append(egress, sgRuleText("egress", r.(map[string]any)))
	}
	if d := cmp.Diff(egress, []string{"egress -1 - 0.0.0.0/0", "egress -1 - ::/0"}); d != "" {
		t.Errorf("Open's egress (-got +want):\n%s", d)
	}
	// Each value fits a standard parameter once its IDs resolve (at most 24
	// characters: sg-, acl- and 17 hex digits).
	for id, p := range resources(t, tmpl, "AWS::SSM::Parameter") {
		n := 0
		for _, part := range p["Value"].(map[string]any)["Fn::Join"].([]any)[1].([]any) {
			if s, ok := part.(string); ok {
				n += len(s)
			} else {
				n += 24
			}
		}
		if n > 4096 {
			t.Errorf("%s: %d bytes, more than a standard parameter holds", id, n)
		}
	}
}

// TestDeclaredThrottle: the parameters are written at most five at a time
// (each depends on the one five before it), so SSM does not throttle the
// deployment.
func TestDeclaredThrottle(t *testing.T) {
	s := synth(t, "tradai", nil)
	all := templateJSON(s.network)["Resources"].(map[string]any)
	var ids []string
	for id, r := range all {
		if r.(map[string]any)["Type"] == "AWS::SSM::Parameter" {
			ids = append(ids, id)
		}
	}
	if len(ids) <= 5 {
		t.Fatalf("%d parameters: too few to check", len(ids))
	}
	free := 0
	for _, id := range ids {
		deps, _ := all[id].(map[string]any)["DependsOn"].([]any)
		n := 0
		for _, d := range deps {
			if strings.HasPrefix(d.(string), "Declared") {
				n++
			}
		}
		if n == 0 {
			free++
		}
	}
	if free != 5 {
		t.Errorf("%d of %d parameters wait for no other: want 5", free, len(ids))
	}
}
