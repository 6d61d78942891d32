package stacks

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The declared rules: the network stack publishes the security groups and network
// ACLs it declares, with the physical IDs CloudFormation resolves at deploy time,
// as SSM parameters under DeclaredPath. flowq inventory sync and the inventory
// Lambda read them (ssm:GetParametersByPath) and compare them with the live rules
// (internal/inventory/drift): rules added or removed outside the code are drift.
//
// One parameter per security group (its inline rules and the separate
// AWS::EC2::SecurityGroupIngress/Egress resources that name it) and one per
// network ACL (its AWS::EC2::NetworkAclEntry resources). A value is JSON in
// CloudFormation's own property names (ipProtocol, cidrIp, ruleNumber, ...), so
// every property a future rule sets is published without a second list:
//
//	{"version":1,"kind":"security-group","name":"ALBSecurityGroup","id":"sg-…",
//	 "ingress":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"cidrIp":"0.0.0.0/0"}],"egress":[…]}
//	{"version":1,"kind":"network-acl","name":"PublicNetworkAcl","id":"acl-…",
//	 "entries":[{"ruleNumber":100,"protocol":6,"ruleAction":"allow","egress":false,
//	             "cidrBlock":"0.0.0.0/0","portRange":{"from":443,"to":443}}]}
//
// A value too large for a standard parameter (4 KB) is split into parts with the
// same kind and id (…/<name>/1, …/<name>/2); readers merge parts by id.
const (
	DeclaredVersion    = 1
	DeclaredGroupKind  = "security-group"
	DeclaredACLKind    = "network-acl"
	declaredGroupsPath = "security-groups/"
	declaredACLsPath   = "network-acls/"
	// declaredMaxBytes bounds a part's estimated size below a standard
	// parameter's 4 KB; declaredOverhead is the value's fields besides rules.
	declaredMaxBytes    = 3800
	declaredOverhead    = 200
	declaredConcurrency = 5
)

// DeclaredPath is the SSM path under which a deployment publishes its declared
// rules: /flowq/<preset>[-<env>]/declared (the inventory Lambda's
// FLOWQ_DECLARED_PATH).
func DeclaredPath(cfg Config) string {
	app := cfg.Preset.Name
	if cfg.Env != "" {
		app += "-" + cfg.Env
	}
	return "/flowq/" + app + "/declared"
}

// PublishDeclared adds the SSM parameters that publish the security groups and
// network ACLs declared in stack so far: call it after the stack's last rule. It
// walks the construct tree (CfnSecurityGroup, CfnSecurityGroupIngress/Egress,
// CfnNetworkAcl, CfnNetworkAclEntry), so new rules are published without being
// listed here.
func PublishDeclared(stack awscdk.Stack, cfg Config) {
	type group struct {
		name            string
		id              *string
		ingress, egress []any
	}
	type acl struct {
		name    string
		id      *string
		entries []any
	}
	groups, acls := map[string]*group{}, map[string]*acl{}
	var sgIngress, sgEgress []awscdk.CfnResource
	var aclEntries []awsec2.CfnNetworkAclEntry
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		switch r := c.(type) {
		case awsec2.CfnSecurityGroup:
			g := &group{name: *stack.GetLogicalId(r), id: r.AttrGroupId()}
			g.ingress = ruleList(r.SecurityGroupIngress())
			if e := r.SecurityGroupEgress(); e != nil {
				g.egress = ruleList(e)
			} else {
				// Without egress rules EC2 keeps the group's default allow-all.
				g.egress = []any{map[string]any{"ipProtocol": "-1", "cidrIp": "0.0.0.0/0"}}
			}
			groups[g.name] = g
		case awsec2.CfnSecurityGroupIngress:
			sgIngress = append(sgIngress, r)
		case awsec2.CfnSecurityGroupEgress:
			sgEgress = append(sgEgress, r)
		case awsec2.CfnNetworkAcl:
			a := &acl{name: *stack.GetLogicalId(r), id: r.Ref()}
			acls[a.name] = a
		case awsec2.CfnNetworkAclEntry:
			aclEntries = append(aclEntries, r)
		}
	}
	// A rule resource whose group is not declared here (an imported group) gets
	// a group of its own, named by the rule, with the group's ID as given.
	groupOf := func(id *string, rule string) *group {
		if g, ok := groups[refTarget(stack, id)]; ok {
			return g
		}
		g := &group{name: rule, id: id, ingress: []any{}, egress: []any{}}
		groups[rule] = g
		return g
	}
	for _, r := range sgIngress {
		in := r.(awsec2.CfnSecurityGroupIngress)
		g := groupOf(in.GroupId(), *stack.GetLogicalId(in))
		g.ingress = append(g.ingress, compact(map[string]any{
			"ipProtocol": in.IpProtocol(), "fromPort": in.FromPort(), "toPort": in.ToPort(),
			"cidrIp": in.CidrIp(), "cidrIpv6": in.CidrIpv6(), "sourceSecurityGroupId": in.SourceSecurityGroupId(),
			"sourcePrefixListId": in.SourcePrefixListId(), "description": in.Description(),
		}))
	}
	for _, r := range sgEgress {
		out := r.(awsec2.CfnSecurityGroupEgress)
		g := groupOf(out.GroupId(), *stack.GetLogicalId(out))
		g.egress = append(g.egress, compact(map[string]any{
			"ipProtocol": out.IpProtocol(), "fromPort": out.FromPort(), "toPort": out.ToPort(),
			"cidrIp": out.CidrIp(), "cidrIpv6": out.CidrIpv6(), "destinationSecurityGroupId": out.DestinationSecurityGroupId(),
			"destinationPrefixListId": out.DestinationPrefixListId(), "description": out.Description(),
		}))
	}
	for _, e := range aclEntries {
		a, ok := acls[refTarget(stack, e.NetworkAclId())]
		if !ok {
			name := *stack.GetLogicalId(e)
			a = &acl{name: name, id: e.NetworkAclId()}
			acls[name] = a
		}
		a.entries = append(a.entries, compact(map[string]any{
			"ruleNumber": e.RuleNumber(), "protocol": e.Protocol(), "ruleAction": e.RuleAction(), "egress": e.Egress(),
			"cidrBlock": e.CidrBlock(), "ipv6CidrBlock": e.Ipv6CidrBlock(), "portRange": e.PortRange(), "icmp": e.Icmp(),
		}))
	}

	path := DeclaredPath(cfg) + "/"
	var params []awsssm.CfnParameter
	publish := func(kind, dir, name string, id *string, lists map[string][]any) {
		parts := splitRules(stack, lists)
		for i, part := range parts {
			v := map[string]any{"version": DeclaredVersion, "kind": kind, "name": name, "id": id}
			for k, l := range part {
				v[k] = l
			}
			param, logical := path+dir+name, "Declared"+name
			if len(parts) > 1 {
				param += fmt.Sprintf("/%d", i+1)
				logical += fmt.Sprintf("Part%d", i+1)
			}
			p := awsssm.NewCfnParameter(stack, jsii.String(logical), &awsssm.CfnParameterProps{
				Name: jsii.String(param), Type: jsii.String("String"), Tier: jsii.String("Standard"),
				Description: jsii.String("flowq: the " + kind + " " + name + " as the CDK app declares it (drift is reported against it)"),
				Value:       stack.ToJsonString(v, nil),
			})
			// At most declaredConcurrency parameters are written at once: SSM
			// throttles PutParameter (TooManyUpdates) well below what
			// CloudFormation would send.
			if n := len(params); n >= declaredConcurrency {
				p.Node().AddDependency(params[n-declaredConcurrency])
			}
			params = append(params, p)
		}
	}
	for _, name := range sortedKeys(groups) {
		g := groups[name]
		publish(DeclaredGroupKind, declaredGroupsPath, name, g.id, map[string][]any{"ingress": g.ingress, "egress": g.egress})
	}
	for _, name := range sortedKeys(acls) {
		a := acls[name]
		publish(DeclaredACLKind, declaredACLsPath, name, a.id, map[string][]any{"entries": a.entries})
	}
}

// splitRules packs the lists' rules into parts that each fit a standard
// parameter. A rule's size is its JSON with Refs and Fn::GetAtts unresolved,
// longer than the IDs CloudFormation puts in their place, so the estimate errs
// on the safe side. Every part holds every list (empty ones too).
func splitRules(stack awscdk.Stack, lists map[string][]any) []map[string][]any {
	newPart := func() map[string][]any {
		p := map[string][]any{}
		for k := range lists {
			p[k] = []any{}
		}
		return p
	}
	parts := []map[string][]any{newPart()}
	size := declaredOverhead
	for _, k := range sortedKeys(lists) {
		for _, r := range lists[k] {
			b, err := json.Marshal(stack.Resolve(r))
			n := len(b) + 1
			if err != nil {
				n = declaredMaxBytes // unknown: a part of its own
			}
			if size+n > declaredMaxBytes && size > declaredOverhead {
				parts = append(parts, newPart())
				size = declaredOverhead
			}
			p := parts[len(parts)-1]
			p[k] = append(p[k], r)
			size += n
		}
	}
	return parts
}

// ruleList returns a security group's inline rule list (nil: none) as a slice of
// the rules as CDK holds them; a token (an unresolved list) is kept whole.
func ruleList(v any) []any {
	switch l := v.(type) {
	case nil:
		return []any{}
	case []any:
		return l
	case *[]any:
		if l == nil {
			return []any{}
		}
		return *l
	}
	return []any{v}
}

// refTarget returns the logical ID a Ref or Fn::GetAtt token points at ("" for
// anything else).
func refTarget(stack awscdk.Stack, token *string) string {
	if token == nil {
		return ""
	}
	m, ok := stack.Resolve(token).(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		s, _ := ga[0].(string)
		return s
	}
	return ""
}

// compact drops the properties a rule does not set.
func compact(m map[string]any) map[string]any {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case *string:
			if x == nil {
				delete(m, k)
			}
		case *float64:
			if x == nil {
				delete(m, k)
			}
		case *bool:
			if x == nil {
				delete(m, k)
			}
		}
	}
	return m
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
