package stacks

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/google/go-cmp/cmp"
)

// resources returns the template's resources of one type, by logical ID.
func resources(t *testing.T, tmpl assertions.Template, typ string) map[string]map[string]any {
	t.Helper()
	all := templateJSON(tmpl)["Resources"].(map[string]any)
	out := map[string]map[string]any{}
	for id, r := range all {
		r := r.(map[string]any)
		if r["Type"] == typ {
			props, _ := r["Properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
			}
			out[id] = props
		}
	}
	return out
}

// ref renders a property value: a literal as itself, {"Ref": X} and
// {"Fn::GetAtt": [X, ...]} as X, anything else as JSON-ish text.
func ref(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	case map[string]any:
		if r, ok := v["Ref"]; ok {
			return r.(string)
		}
		if g, ok := v["Fn::GetAtt"]; ok {
			return g.([]any)[0].(string)
		}
		if imp, ok := v["Fn::ImportValue"]; ok {
			return "import:" + ref(imp)
		}
	}
	return fmt.Sprintf("%v", v)
}

var (
	jsonMu    sync.Mutex
	jsonCache = map[assertions.Template]map[string]any{}
)

// templateJSON is tmpl.ToJSON, memoized: each call crosses into jsii and copies the
// whole template.
func templateJSON(tmpl assertions.Template) map[string]any {
	jsonMu.Lock()
	defer jsonMu.Unlock()
	if j, ok := jsonCache[tmpl]; ok {
		return j
	}
	j := *tmpl.ToJSON()
	jsonCache[tmpl] = j
	return j
}

// check runs a jsii assertion (HasResourceProperties and friends panic on a
// mismatch) and reports its failure on t instead of crashing the test binary.
func check(t *testing.T, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%v", r)
		}
	}()
	assertion()
}

func jstr(s string) *string   { return &s }
func jnum(n float64) *float64 { return &n }

func sorted(s []string) []string { sort.Strings(s); return s }

func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("%s (-got +want):\n%s", what, d)
	}
}

func TestSubnetsAndRouting(t *testing.T) {
	for _, tc := range []struct {
		preset      string
		subnets     map[string]string // logical ID → CIDR
		privateNext string            // type of the private default route target
	}{
		{"menotime", map[string]string{
			"PublicSubnet1": "10.0.1.0/24", "PublicSubnet2": "10.0.2.0/24",
			"PrivateSubnet1": "10.0.11.0/24", "PrivateSubnet2": "10.0.12.0/24",
			"DatabaseSubnet1": "10.0.21.0/24", "DatabaseSubnet2": "10.0.22.0/24",
		}, "NatGatewayId"},
		{"tradai", map[string]string{
			"PublicSubnet1": "10.0.1.0/24", "PublicSubnet2": "10.0.2.0/24",
			"PrivateSubnet1": "10.0.11.0/24", "PrivateSubnet2": "10.0.12.0/24",
			"DatabaseSubnet1": "10.0.20.0/24", "DatabaseSubnet2": "10.0.21.0/24",
		}, ""}, // the NAT instance's lifecycle hook makes the private default routes
	} {
		t.Run(tc.preset, func(t *testing.T) {
			tmpl := synth(t, tc.preset, nil).network
			check(t, func() {
				tmpl.HasResourceProperties(jstr("AWS::EC2::VPC"), map[string]any{
					"CidrBlock": "10.0.0.0/16", "EnableDnsHostnames": true, "EnableDnsSupport": true,
				})
			})
			check(t, func() {
				tmpl.ResourceCountIs(jstr("AWS::EC2::InternetGateway"), jnum(1))
			})
			got := map[string]string{}
			azs := map[string]string{}
			for id, p := range resources(t, tmpl, "AWS::EC2::Subnet") {
				got[id] = p["CidrBlock"].(string)
				azs[id] = fmt.Sprint(p["AvailabilityZone"])
				if p["MapPublicIpOnLaunch"] != false {
					t.Errorf("%s: MapPublicIpOnLaunch = %v", id, p["MapPublicIpOnLaunch"])
				}
			}
			diff(t, "subnet CIDRs", got, tc.subnets)
			for _, tier := range []string{"Public", "Private", "Database"} {
				if azs[tier+"Subnet1"] == azs[tier+"Subnet2"] {
					t.Errorf("%s subnets share an AZ: %s", tier, azs[tier+"Subnet1"])
				}
			}

			// Route table associations: public RT ← both public subnets, one private
			// RT per AZ, database RT ← both database subnets.
			assoc := map[string][]string{}
			for _, p := range resources(t, tmpl, "AWS::EC2::SubnetRouteTableAssociation") {
				rt := ref(p["RouteTableId"])
				assoc[rt] = sorted(append(assoc[rt], ref(p["SubnetId"])))
			}
			diff(t, "route table associations", assoc, map[string][]string{
				"PublicRouteTable":   {"PublicSubnet1", "PublicSubnet2"},
				"PrivateRouteTable1": {"PrivateSubnet1"},
				"PrivateRouteTable2": {"PrivateSubnet2"},
				"DatabaseRouteTable": {"DatabaseSubnet1", "DatabaseSubnet2"},
			})

			// Routes (the local 10.0.0.0/16 route is implicit in every table).
			var routes []string
			for _, p := range resources(t, tmpl, "AWS::EC2::Route") {
				for _, k := range []string{"GatewayId", "NatGatewayId", "NetworkInterfaceId", "InstanceId"} {
					if v, ok := p[k]; ok {
						routes = append(routes, fmt.Sprintf("%s %s -> %s %s", ref(p["RouteTableId"]), p["DestinationCidrBlock"], k, ref(v)))
					}
				}
			}
			want := []string{"PublicRouteTable 0.0.0.0/0 -> GatewayId InternetGateway"}
			switch tc.privateNext {
			case "NatGatewayId":
				want = append(want,
					"PrivateRouteTable1 0.0.0.0/0 -> NatGatewayId NATGateway1",
					"PrivateRouteTable2 0.0.0.0/0 -> NatGatewayId NATGateway2")
			}
			diff(t, "routes (database route table: local only)", sorted(routes), sorted(want))
		})
	}
}

func TestNAT(t *testing.T) {
	t.Run("menotime: a NAT Gateway per AZ", func(t *testing.T) {
		tmpl := synth(t, "menotime", nil).network
		nats := resources(t, tmpl, "AWS::EC2::NatGateway")
		got := map[string]string{}
		for id, p := range nats {
			got[id] = ref(p["SubnetId"]) + " " + ref(p["AllocationId"])
		}
		diff(t, "NAT gateways", got, map[string]string{
			"NATGateway1": "PublicSubnet1 NATGatewayEIP1", "NATGateway2": "PublicSubnet2 NATGatewayEIP2",
		})
		check(t, func() {
			tmpl.ResourceCountIs(jstr("AWS::AutoScaling::AutoScalingGroup"), jnum(0))
		})
	})
	t.Run("tradai: the reference network's NAT instance", func(t *testing.T) { testNATInstance(t, synth(t, "tradai", nil)) })
}

// sgRules flattens every security-group rule of the template to
// "<group> in|out <proto> <from>-<to> <peer>", inline and separate alike.
func sgRules(t *testing.T, tmpl assertions.Template) []string {
	t.Helper()
	var out []string
	peer := func(r map[string]any, keys ...string) string {
		for _, k := range keys {
			if v, ok := r[k]; ok {
				return strings.TrimSuffix(ref(v), "SecurityGroup")
			}
		}
		return "?"
	}
	rule := func(group, dir string, r map[string]any, keys ...string) {
		ports := fmt.Sprintf("%v-%v", r["FromPort"], r["ToPort"])
		if r["IpProtocol"] == "-1" {
			ports = "all"
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s", strings.TrimSuffix(group, "SecurityGroup"), dir, r["IpProtocol"], ports, peer(r, keys...)))
	}
	for id, p := range resources(t, tmpl, "AWS::EC2::SecurityGroup") {
		for _, r := range asList(p["SecurityGroupIngress"]) {
			rule(id, "in", r, "CidrIp", "SourceSecurityGroupId")
		}
		for _, r := range asList(p["SecurityGroupEgress"]) {
			rule(id, "out", r, "CidrIp", "DestinationSecurityGroupId")
		}
		if _, ok := p["SecurityGroupEgress"]; !ok {
			t.Errorf("%s has no inline egress: EC2 would add allow-all", id)
		}
	}
	for _, p := range resources(t, tmpl, "AWS::EC2::SecurityGroupIngress") {
		rule(ref(p["GroupId"]), "in", p, "CidrIp", "SourceSecurityGroupId")
	}
	for _, p := range resources(t, tmpl, "AWS::EC2::SecurityGroupEgress") {
		rule(ref(p["GroupId"]), "out", p, "CidrIp", "DestinationSecurityGroupId")
	}
	return sorted(out)
}

func asList(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, e.(map[string]any))
	}
	return out
}

func TestSecurityGroups(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
		want   []string
	}{
		{"tradai", nil, []string{
			"ALB in tcp 443-443 0.0.0.0/0", "ALB in tcp 80-80 0.0.0.0/0",
			"ALB out tcp 8000-8002 ECS", "ALB out tcp 5000-5000 ECS",
			"ECS in tcp 8000-8000 ALB", "ECS in tcp 8002-8002 ALB", "ECS in tcp 8002-8002 Lambda",
			"ECS in tcp 5000-5000 ALB", "ECS in tcp 5000-5000 ECS",
			"ECS out tcp 443-443 0.0.0.0/0", "ECS out tcp 5432-5432 RDS",
			"Lambda out tcp 8002-8002 ECS", "Lambda out tcp 443-443 0.0.0.0/0",
			"RDS in tcp 5432-5432 ECS", "RDS out icmp 252-86 255.255.255.255/32",
			"NAT in tcp 443-443 10.0.11.0/24", "NAT in tcp 443-443 10.0.12.0/24",
			"NAT in tcp 80-80 10.0.11.0/24", "NAT in tcp 80-80 10.0.12.0/24",
			"NAT out tcp 443-443 0.0.0.0/0", "NAT out tcp 80-80 0.0.0.0/0",
			"VPCEndpoint in tcp 443-443 10.0.0.0/16", "VPCEndpoint out -1 all 0.0.0.0/0",
		}},
		{"menotime", map[string]string{"bastionCidr": "198.51.100.7/32"}, []string{
			"ALB in tcp 443-443 0.0.0.0/0", "ALB in tcp 80-80 0.0.0.0/0", "ALB out tcp 8000-8000 ECS",
			"ECS in tcp 8000-8000 ALB",
			"ECS out tcp 5432-5432 RDS", "ECS out tcp 443-443 0.0.0.0/0", "ECS out tcp 587-587 0.0.0.0/0", "ECS out udp 53-53 0.0.0.0/0",
			"RDS in tcp 5432-5432 ECS", "RDS in tcp 5432-5432 Bastion", "RDS out icmp 252-86 255.255.255.255/32",
			"Bastion in tcp 22-22 198.51.100.7/32", "Bastion out tcp 5432-5432 RDS", "Bastion out tcp 443-443 0.0.0.0/0",
			"VPCEndpoint in tcp 443-443 ECS", "VPCEndpoint out -1 all 0.0.0.0/0",
		}},
		{"menotime", nil, nil}, // no bastion group without bastionCidr
	} {
		t.Run(fmt.Sprint(tc.preset, tc.ctx), func(t *testing.T) {
			got := sgRules(t, synth(t, tc.preset, tc.ctx).network)
			if tc.want == nil {
				for _, r := range got {
					if strings.HasPrefix(r, "Bastion") || strings.HasSuffix(r, "Bastion") {
						t.Errorf("bastion rule without bastionCidr: %s", r)
					}
				}
				return
			}
			diff(t, "security group rules", got, sorted(tc.want))
		})
	}
}

func TestNetworkACLs(t *testing.T) {
	entries := func(tmpl assertions.Template) []string {
		var out []string
		for _, p := range resources(t, tmpl, "AWS::EC2::NetworkAclEntry") {
			dir := "in"
			if p["Egress"] == true {
				dir = "out"
			}
			pr := p["PortRange"].(map[string]any)
			out = append(out, fmt.Sprintf("%s %s %v proto=%v %v-%v %s %s", strings.TrimSuffix(ref(p["NetworkAclId"]), "NetworkAcl"),
				dir, p["RuleNumber"], p["Protocol"], pr["From"], pr["To"], p["CidrBlock"], p["RuleAction"]))
		}
		return sorted(out)
	}
	assocs := func(tmpl assertions.Template) map[string][]string {
		out := map[string][]string{}
		for _, p := range resources(t, tmpl, "AWS::EC2::SubnetNetworkAclAssociation") {
			acl := ref(p["NetworkAclId"])
			out[acl] = sorted(append(out[acl], ref(p["SubnetId"])))
		}
		return out
	}
	db := func(cidrs ...string) []string {
		return []string{
			"Database in 100 proto=6 5432-5432 10.0.11.0/24 allow", "Database in 110 proto=6 5432-5432 10.0.12.0/24 allow",
			"Database out 100 proto=6 1024-65535 10.0.11.0/24 allow", "Database out 110 proto=6 1024-65535 10.0.12.0/24 allow",
		}
	}
	t.Run("tradai: seed 001 tables", func(t *testing.T) {
		tmpl := synth(t, "tradai", nil).network
		want := append(db(), []string{
			"Public in 100 proto=6 443-443 0.0.0.0/0 allow", "Public in 110 proto=6 80-80 0.0.0.0/0 allow",
			"Public in 120 proto=6 1024-65535 0.0.0.0/0 allow",
			"Public out 100 proto=6 443-443 0.0.0.0/0 allow", "Public out 110 proto=6 80-80 0.0.0.0/0 allow",
			"Public out 120 proto=6 8000-8002 10.0.0.0/16 allow", "Public out 130 proto=6 5000-5000 10.0.0.0/16 allow",
			"Public out 140 proto=6 1024-65535 0.0.0.0/0 allow",
			"Private in 100 proto=6 8000-8002 10.0.1.0/24 allow", "Private in 110 proto=6 8000-8002 10.0.2.0/24 allow",
			"Private in 120 proto=6 5000-5000 10.0.0.0/16 allow", "Private in 130 proto=6 1024-65535 0.0.0.0/0 allow",
			"Private out 100 proto=6 443-443 0.0.0.0/0 allow", "Private out 110 proto=6 5432-5432 10.0.20.0/24 allow",
			"Private out 120 proto=6 5432-5432 10.0.21.0/24 allow", "Private out 130 proto=6 1024-65535 0.0.0.0/0 allow",
		}...)
		diff(t, "NACL entries (all else: implicit * deny)", entries(tmpl), sorted(want))
		diff(t, "NACL associations", assocs(tmpl), map[string][]string{
			"PublicNetworkAcl":   {"PublicSubnet1", "PublicSubnet2"},
			"PrivateNetworkAcl":  {"PrivateSubnet1", "PrivateSubnet2"},
			"DatabaseNetworkAcl": {"DatabaseSubnet1", "DatabaseSubnet2"},
		})
	})
	t.Run("menotime: database tier only", func(t *testing.T) {
		tmpl := synth(t, "menotime", nil).network
		diff(t, "NACL entries", entries(tmpl), sorted(db()))
		diff(t, "NACL associations", assocs(tmpl), map[string][]string{
			"DatabaseNetworkAcl": {"DatabaseSubnet1", "DatabaseSubnet2"},
		})
	})
}

func TestVPCEndpoints(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
		want   []string
	}{
		{"tradai", nil, []string{
			"com.amazonaws.us-east-1.s3 Gateway rt=[PrivateRouteTable1 PrivateRouteTable2]",
			"com.amazonaws.us-east-1.dynamodb Gateway rt=[PrivateRouteTable1 PrivateRouteTable2]",
		}},
		{"tradai", map[string]string{"interfaceEndpoints": "true"}, []string{
			"com.amazonaws.us-east-1.s3 Gateway rt=[PrivateRouteTable1 PrivateRouteTable2]",
			"com.amazonaws.us-east-1.dynamodb Gateway rt=[PrivateRouteTable1 PrivateRouteTable2]",
			"com.amazonaws.us-east-1.secretsmanager Interface subnets=[PrivateSubnet1 PrivateSubnet2] sg=VPCEndpointSecurityGroup dns=true",
			"com.amazonaws.us-east-1.ecr.api Interface subnets=[PrivateSubnet1 PrivateSubnet2] sg=VPCEndpointSecurityGroup dns=true",
			"com.amazonaws.us-east-1.ecr.dkr Interface subnets=[PrivateSubnet1 PrivateSubnet2] sg=VPCEndpointSecurityGroup dns=true",
		}},
		{"menotime", nil, []string{
			"com.amazonaws.us-west-1.s3 Gateway rt=[PrivateRouteTable1 PrivateRouteTable2]",
			"com.amazonaws.us-west-1.secretsmanager Interface subnets=[PrivateSubnet1 PrivateSubnet2] sg=VPCEndpointSecurityGroup dns=true",
			"com.amazonaws.us-west-1.ecr.api Interface subnets=[PrivateSubnet1 PrivateSubnet2] sg=VPCEndpointSecurityGroup dns=true",
			"com.amazonaws.us-west-1.ecr.dkr Interface subnets=[PrivateSubnet1 PrivateSubnet2] sg=VPCEndpointSecurityGroup dns=true",
		}},
		{"menotime", map[string]string{"interfaceEndpoints": "false"}, []string{
			"com.amazonaws.us-west-1.s3 Gateway rt=[PrivateRouteTable1 PrivateRouteTable2]",
		}},
	} {
		t.Run(fmt.Sprint(tc.preset, tc.ctx), func(t *testing.T) {
			var got []string
			for _, p := range resources(t, synth(t, tc.preset, tc.ctx).network, "AWS::EC2::VPCEndpoint") {
				refs := func(k string) []string {
					var out []string
					for _, v := range p[k].([]any) {
						out = append(out, ref(v))
					}
					return sorted(out)
				}
				s := fmt.Sprintf("%s %s", p["ServiceName"], p["VpcEndpointType"])
				if p["VpcEndpointType"] == "Gateway" {
					s += fmt.Sprintf(" rt=%v", refs("RouteTableIds"))
					if p["PolicyDocument"] == nil {
						t.Errorf("%s: no endpoint policy", p["ServiceName"])
					}
				} else {
					s += fmt.Sprintf(" subnets=%v sg=%s dns=%v", refs("SubnetIds"), refs("SecurityGroupIds")[0], p["PrivateDnsEnabled"])
				}
				got = append(got, s)
			}
			diff(t, "endpoints", sorted(got), sorted(tc.want))
		})
	}
}

func TestLoadBalancer(t *testing.T) {
	for _, tc := range []struct {
		preset       string
		targetGroups map[string]float64
		https        string
		rules        []string
	}{
		{"menotime", map[string]float64{"BackendTargetGroup": 8000}, "forward BackendTargetGroup", nil},
		{"tradai", map[string]float64{"BackendTargetGroup": 8000, "DataTargetGroup": 8002, "MLflowTargetGroup": 5000},
			"fixed-response 404", []string{
				"1 [/strategies/* /data/* /health /backtest/*] -> BackendTargetGroup",
				"2 [/mlflow/*] -> MLflowTargetGroup",
			}},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			s := synth(t, tc.preset, nil)
			tmpl := s.network
			lb := resources(t, tmpl, "AWS::ElasticLoadBalancingV2::LoadBalancer")["LoadBalancer"]
			diff(t, "ALB", []any{lb["Scheme"], lb["Type"], lb["IpAddressType"], ref(lb["Subnets"].([]any)[0]), ref(lb["Subnets"].([]any)[1]), ref(lb["SecurityGroups"].([]any)[0])},
				[]any{"internet-facing", "application", "ipv4", "PublicSubnet1", "PublicSubnet2", "ALBSecurityGroup"})
			attrs := map[string]string{}
			for _, a := range asList(lb["LoadBalancerAttributes"]) {
				attrs[a["Key"].(string)] = ref(a["Value"])
			}
			diff(t, "ALB attributes", attrs, map[string]string{
				"access_logs.s3.enabled": "true", "access_logs.s3.bucket": AccessLogBucketID, "access_logs.s3.prefix": "alb",
				"routing.http.drop_invalid_header_fields.enabled": "true",
			})

			got := map[string]float64{}
			for id, p := range resources(t, tmpl, "AWS::ElasticLoadBalancingV2::TargetGroup") {
				got[id] = p["Port"].(float64)
				hc := []any{p["Protocol"], p["TargetType"], p["HealthCheckPath"], p["HealthCheckProtocol"], p["HealthCheckIntervalSeconds"],
					p["HealthCheckTimeoutSeconds"], p["HealthyThresholdCount"], p["UnhealthyThresholdCount"], p["Matcher"]}
				diff(t, id+" health check", hc, []any{"HTTP", "ip", "/health", "HTTP", 30.0, 5.0, 2.0, 3.0, map[string]any{"HttpCode": "200"}})
				ta := map[string]string{}
				for _, a := range asList(p["TargetGroupAttributes"]) {
					ta[a["Key"].(string)] = a["Value"].(string)
				}
				if ta["deregistration_delay.timeout_seconds"] != "30" {
					t.Errorf("%s: deregistration delay %q", id, ta["deregistration_delay.timeout_seconds"])
				}
			}
			diff(t, "target groups", got, tc.targetGroups)

			listeners := map[float64]map[string]any{}
			for _, p := range resources(t, tmpl, "AWS::ElasticLoadBalancingV2::Listener") {
				listeners[p["Port"].(float64)] = p
			}
			http := listeners[80]
			diff(t, "HTTP listener", []any{http["Protocol"], asList(http["DefaultActions"])[0]}, []any{"HTTP", map[string]any{
				"Type": "redirect", "RedirectConfig": map[string]any{"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301",
					"Host": "#{host}", "Path": "/#{path}", "Query": "#{query}"},
			}})
			https := listeners[443]
			act := asList(https["DefaultActions"])[0]
			def := fmt.Sprintf("%s %s", act["Type"], ref(act["TargetGroupArn"]))
			if act["Type"] == "fixed-response" {
				def = fmt.Sprintf("%s %s", act["Type"], act["FixedResponseConfig"].(map[string]any)["StatusCode"])
			}
			diff(t, "HTTPS listener", []any{https["Protocol"], https["SslPolicy"], asList(https["Certificates"])[0]["CertificateArn"], def},
				[]any{"HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06", testCertificateARN(s.cfg.Region), tc.https})

			var rules []string
			for _, p := range resources(t, tmpl, "AWS::ElasticLoadBalancingV2::ListenerRule") {
				c := asList(p["Conditions"])[0]
				if c["Field"] != "path-pattern" || ref(p["ListenerArn"]) != "HTTPSListener" {
					t.Errorf("rule %v: field %v on %v", p["Priority"], c["Field"], ref(p["ListenerArn"]))
				}
				rules = append(rules, fmt.Sprintf("%v %v -> %s", p["Priority"], c["PathPatternConfig"].(map[string]any)["Values"], ref(asList(p["Actions"])[0]["TargetGroupArn"])))
			}
			diff(t, "listener rules", sorted(rules), tc.rules)
		})
	}
}

func TestAccessLogBucket(t *testing.T) {
	for _, tc := range []struct{ preset, principal string }{
		{"tradai", "arn:aws:iam::127311923021:root"}, {"menotime", "arn:aws:iam::027434742980:root"},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			tmpl := synth(t, tc.preset, nil).network
			b := resources(t, tmpl, "AWS::S3::Bucket")[AccessLogBucketID]
			if b == nil {
				t.Fatalf("no bucket with pinned logical ID %s", AccessLogBucketID)
			}
			diff(t, "encryption", b["BucketEncryption"], map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}})
			check(t, func() {
				tmpl.HasResourceProperties(jstr("AWS::S3::BucketPolicy"), map[string]any{
					"Bucket": map[string]any{"Ref": AccessLogBucketID},
					"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
						assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
						assertions.Match_ObjectLike(&map[string]any{"Sid": "ELBAccessLogs", "Principal": map[string]any{"AWS": tc.principal}}),
					})}),
				})
			})
		})
	}
}

func TestDNS(t *testing.T) {
	t.Run("tradai private zone", func(t *testing.T) {
		tmpl := synth(t, "tradai", nil).network
		check(t, func() {
			tmpl.HasResourceProperties(jstr("AWS::Route53::HostedZone"), map[string]any{
				"Name": "tradai.local", "VPCs": []any{map[string]any{"VPCId": map[string]any{"Ref": "VPC"}, "VPCRegion": "us-east-1"}},
			})
		})
		var got []string
		for _, p := range resources(t, tmpl, "AWS::Route53::RecordSet") {
			got = append(got, fmt.Sprintf("%s %s alias=%s", p["Name"], p["Type"], ref(p["AliasTarget"].(map[string]any)["DNSName"])))
		}
		diff(t, "records", sorted(got), sorted([]string{
			"backend.tradai.local A alias=LoadBalancer", "data.tradai.local A alias=LoadBalancer", "mlflow.tradai.local A alias=LoadBalancer",
		}))
	})
	t.Run("menotime without domain: no zone", func(t *testing.T) {
		synth(t, "menotime", nil).network.ResourceCountIs(jstr("AWS::Route53::HostedZone"), jnum(0))
	})
	t.Run("menotime with domain: public zone", func(t *testing.T) {
		tmpl := synth(t, "menotime", map[string]string{"domain": "menotime.example", "bastionCidr": "198.51.100.7/32", "alertEmail": "ops@example.com"}).network
		zones := resources(t, tmpl, "AWS::Route53::HostedZone")
		if len(zones) != 1 || zones["PublicHostedZone"]["Name"] != "menotime.example" || zones["PublicHostedZone"]["VPCs"] != nil {
			t.Errorf("zones: %v", zones)
		}
		var got []string
		for _, p := range resources(t, tmpl, "AWS::Route53::RecordSet") {
			if a, ok := p["AliasTarget"].(map[string]any); ok {
				got = append(got, fmt.Sprintf("%s %s alias=%s", p["Name"], p["Type"], ref(a["DNSName"])))
			} else {
				got = append(got, fmt.Sprintf("%s %s %v ttl=%v", p["Name"], p["Type"], p["ResourceRecords"], p["TTL"]))
			}
		}
		diff(t, "records", sorted(got), sorted([]string{
			"api.menotime.example A alias=LoadBalancer", "www.menotime.example CNAME [menotime.example] ttl=300",
		}))
	})
}

func TestFlowLogs(t *testing.T) {
	for _, preset := range []string{"tradai", "menotime"} {
		t.Run(preset, func(t *testing.T) {
			tmpl := synth(t, preset, cwContext).network
			// Pinned logical ID: the flow-log group must never be replaced.
			check(t, func() {
				tmpl.HasResource(jstr("AWS::Logs::LogGroup"), map[string]any{
					"Properties": map[string]any{"RetentionInDays": 7}, "DeletionPolicy": "Retain",
				})
			})
			if _, ok := resources(t, tmpl, "AWS::Logs::LogGroup")[FlowLogGroupID]; !ok {
				t.Errorf("no log group with pinned logical ID %s", FlowLogGroupID)
			}
			fl := resources(t, tmpl, "AWS::EC2::FlowLog")["FlowLog"]
			diff(t, "flow log", []any{ref(fl["ResourceId"]), fl["ResourceType"], fl["TrafficType"], fl["LogDestinationType"], ref(fl["LogGroupName"]), strings.HasPrefix(ref(fl["DeliverLogsPermissionArn"]), "FlowLogRole"), fl["LogFormat"]},
				[]any{"VPC", "VPC", "ALL", "cloud-watch-logs", FlowLogGroupID, true, FlowLogFormat})
			for _, f := range []string{"${tcp-flags}", "${type}", "${pkt-srcaddr}", "${pkt-dstaddr}", "${flow-direction}", "${traffic-path}", "${start}", "${end}"} {
				if !strings.Contains(FlowLogFormat, f) {
					t.Errorf("format lacks %s", f)
				}
			}
			check(t, func() {
				tmpl.HasResourceProperties(jstr("AWS::IAM::Role"), map[string]any{
					"AssumeRolePolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": []any{
						assertions.Match_ObjectLike(&map[string]any{"Principal": map[string]any{"Service": "vpc-flow-logs.amazonaws.com"}}),
					}}),
				})
			})
		})
	}
}
