package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// testNATInstance checks seed 001's NAT instance as issue 11 asks for it: a 1/1
// group across both public subnets, a launch lifecycle hook whose Lambda moves the
// routes, the seed's iptables user data with a success signal, SSM instead of a key,
// an Elastic IP, and the group's events on the alert topic.
func testNATInstance(t *testing.T, s *synthesized) {
	tmpl := s.network
	check(t, func() { tmpl.ResourceCountIs(jstr("AWS::EC2::NatGateway"), jnum(0)) })
	check(t, func() { tmpl.ResourceCountIs(jstr("AWS::EC2::NetworkInterface"), jnum(0)) })
	all := templateJSON(tmpl)["Resources"].(map[string]any)
	asgRes := all[NATGroupID].(map[string]any)
	asg := asgRes["Properties"].(map[string]any)
	var zones []string
	for _, z := range asg["VPCZoneIdentifier"].([]any) {
		zones = append(zones, ref(z))
	}
	diff(t, "ASG size, health check and subnets", []any{asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"], asg["HealthCheckType"], asg["HealthCheckGracePeriod"], zones},
		[]any{"1", "1", "1", "EC2", float64(300), []string{"PublicSubnet1", "PublicSubnet2"}})
	hooks := asg["LifecycleHookSpecificationList"].([]any)
	if len(hooks) != 1 {
		t.Fatalf("lifecycle hooks: %v", hooks)
	}
	hook := hooks[0].(map[string]any)
	diff(t, "lifecycle hook", []any{hook["LifecycleTransition"], hook["DefaultResult"], hook["HeartbeatTimeout"]},
		[]any{"autoscaling:EC2_INSTANCE_LAUNCHING", "ABANDON", float64(NATHookTimeout)})
	hookName, _ := json.Marshal(hook["LifecycleHookName"])
	// The group waits for the rule and the permission: its first launch is seen.
	var deps []string
	for _, d := range asgRes["DependsOn"].([]any) {
		deps = append(deps, d.(string))
	}
	for _, want := range []string{NATHookRuleID, "NATRouteFunctionFromEvents", "InternetGatewayAttachment"} {
		if !strings.Contains(strings.Join(deps, " "), want) {
			t.Errorf("NAT group does not depend on %s: %v", want, deps)
		}
	}

	// The rule sends exactly this hook's launch actions to the route function.
	rule := resources(t, tmpl, "AWS::Events::Rule")[NATHookRuleID]
	pattern, _ := json.Marshal(rule["EventPattern"])
	if !strings.Contains(string(pattern), `"EC2 Instance-launch Lifecycle Action"`) || !strings.Contains(string(pattern), string(hookName)) {
		t.Errorf("hook rule pattern %s does not match hook %s", pattern, hookName)
	}
	if tg := rule["Targets"].([]any)[0].(map[string]any); ref(tg["Arn"]) != NATHookFunctionID {
		t.Errorf("hook rule target %v", tg["Arn"])
	}

	fn := resources(t, tmpl, "AWS::Lambda::Function")[NATHookFunctionID]
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	tables, _ := json.Marshal(env["FLOWQ_NAT_ROUTE_TABLES"])
	if !strings.Contains(string(tables), `{"Ref":"PrivateRouteTable1"}`) || !strings.Contains(string(tables), `{"Ref":"PrivateRouteTable2"}`) {
		t.Errorf("FLOWQ_NAT_ROUTE_TABLES = %s", tables)
	}
	if ref(env["FLOWQ_NAT_EIP_ALLOCATION"]) != NATElasticIPID {
		t.Errorf("FLOWQ_NAT_EIP_ALLOCATION = %v", env["FLOWQ_NAT_EIP_ALLOCATION"])
	}
	diff(t, "hook function", []any{fn["Runtime"], fn["Architectures"], fn["Handler"]}, []any{"provided.al2023", []any{"arm64"}, "bootstrap"})
	eip := resources(t, tmpl, "AWS::EC2::EIP")[NATElasticIPID]
	if fmt.Sprint(eip["Tags"]) != "[map[Key:Name Value:tradai-nat-eip]]" {
		t.Errorf("EIP tags %v", eip["Tags"])
	}

	lt := resources(t, tmpl, "AWS::EC2::LaunchTemplate")["NATLaunchTemplate"]["LaunchTemplateData"].(map[string]any)
	if lt["InstanceType"] != NATInstanceType || lt["MetadataOptions"].(map[string]any)["HttpTokens"] != "required" {
		t.Errorf("launch template %v", lt)
	}
	if _, ok := lt["KeyName"]; ok {
		t.Error("the NAT instance has a key pair: SSM Session Manager replaces it")
	}
	ud, _ := json.Marshal(lt["UserData"])
	for _, want := range []string{
		"dnf install -y iptables-services", "systemctl enable iptables", "net.ipv4.ip_forward = 1", "-j MASQUERADE",
		"iptables -F FORWARD", "service iptables save",
		"complete-lifecycle-action", "signal CONTINUE", "trap 'signal ABANDON' ERR",
	} {
		if !strings.Contains(string(ud), want) {
			t.Errorf("user data lacks %q", want)
		}
	}
	if i, j := strings.Index(string(ud), "service iptables save"), strings.Index(string(ud), "signal CONTINUE"); i > j {
		t.Error("the success signal comes before the NAT is configured")
	}
	role := resources(t, tmpl, "AWS::IAM::Role")["NATInstanceRole"]
	if mp, _ := json.Marshal(role["ManagedPolicyArns"]); !strings.Contains(string(mp), "AmazonSSMManagedInstanceCore") {
		t.Errorf("NAT instance role has no SSM Session Manager policy: %s", mp)
	}

	// The group's events reach the alert topic, whose policy and key let EventBridge in.
	p := s.pipeline
	notify := resources(t, p, "AWS::Events::Rule")[NATNotifyRuleID]
	np, _ := json.Marshal(notify["EventPattern"])
	for _, want := range []string{"EC2 Instance Launch Successful", "EC2 Instance Launch Unsuccessful", "EC2 Instance Terminate Successful", "EC2 Instance Terminate Unsuccessful", "AutoScalingGroupName"} {
		if !strings.Contains(string(np), want) {
			t.Errorf("notification pattern lacks %q: %s", want, np)
		}
	}
	if tg := notify["Targets"].([]any)[0].(map[string]any); ref(tg["Arn"]) != AlertTopicID {
		t.Errorf("notification target %v", tg["Arn"])
	}
	var topicPolicy, keyPolicy string
	for _, tp := range resources(t, p, "AWS::SNS::TopicPolicy") {
		b, _ := json.Marshal(tp["PolicyDocument"])
		topicPolicy += string(b)
	}
	b, _ := json.Marshal(resources(t, p, "AWS::KMS::Key")[AlertKeyID]["KeyPolicy"])
	keyPolicy = string(b)
	for what, doc := range map[string]string{"topic policy": topicPolicy, "alert key policy": keyPolicy} {
		if !strings.Contains(doc, `"Service":"events.amazonaws.com"`) {
			t.Errorf("%s does not let EventBridge publish: %s", what, doc)
		}
	}
}

// TestNATHookLeastPrivilege compares the hook role's EC2 actions with the EC2 calls
// internal/natroute makes: each call is allowed and nothing else is.
func TestNATHookLeastPrivilege(t *testing.T) {
	src, err := os.ReadFile("../../internal/natroute/natroute.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]bool{}
	for _, m := range regexp.MustCompile(`u\.ec2\.(\w+)\(`).FindAllStringSubmatch(string(src), -1) {
		calls["ec2:"+m[1]] = true
	}
	var want []string
	for c := range calls {
		want = append(want, c)
	}
	role := resources(t, synth(t, "tradai", nil).network, "AWS::IAM::Role")[NATHookFunctionID+"Role"]
	var got []string
	for _, p := range role["Policies"].([]any) {
		for _, st := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			acts := st.(map[string]any)["Action"]
			list, ok := acts.([]any)
			if !ok {
				list = []any{acts}
			}
			for _, a := range list {
				if strings.HasPrefix(a.(string), "ec2:") {
					got = append(got, a.(string))
				}
			}
		}
	}
	sort.Strings(want)
	diff(t, "NAT hook EC2 actions (-role +code)", sorted(got), want)
}

func TestNATNotificationsOnlyWithNATInstance(t *testing.T) {
	s := synth(t, "menotime", nil)
	// The inventory's schedule and sync after deployments, and the collector's
	// schedule, are the pipeline's only rules.
	if rules := resources(t, s.pipeline, "AWS::Events::Rule"); rules[NATNotifyRuleID] != nil || len(rules) != 3 ||
		rules[InventoryScheduleID] == nil || rules[InventoryOnDeployID] == nil || rules[CollectScheduleID] == nil {
		t.Errorf("menotime pipeline rules %v: want %s, %s and %s alone", rules, InventoryScheduleID, InventoryOnDeployID, CollectScheduleID)
	}
	check(t, func() { s.network.ResourceCountIs(jstr("AWS::AutoScaling::AutoScalingGroup"), jnum(0)) })
}

// nameTags maps logical IDs to Name tags.
func nameTags(t *testing.T, tmpl assertions.Template) map[string]string {
	out := map[string]string{}
	for id, r := range templateJSON(tmpl)["Resources"].(map[string]any) {
		props, _ := r.(map[string]any)["Properties"].(map[string]any)
		tags, _ := props["Tags"].([]any)
		for _, tg := range tags {
			if tg := tg.(map[string]any); tg["Key"] == "Name" {
				out[id] = fmt.Sprint(tg["Value"])
			}
		}
	}
	return out
}

// TestSeedNames: the Name tags are the reference networks' own names (seed 000
// names its subnets, route tables, database group and endpoints differently from
// seed 001).
func TestSeedNames(t *testing.T) {
	for _, tc := range []struct {
		preset string
		want   map[string]string
	}{
		{"menotime", map[string]string{
			"VPC": "menotime-vpc", "InternetGateway": "menotime-igw",
			"PublicSubnet1": "menotime-pub-a", "PublicSubnet2": "menotime-pub-b",
			"PrivateSubnet1": "menotime-priv-ecs-a", "PrivateSubnet2": "menotime-priv-ecs-b",
			"DatabaseSubnet1": "menotime-priv-db-a", "DatabaseSubnet2": "menotime-priv-db-b",
			"PublicRouteTable": "menotime-public-rt", "PrivateRouteTable1": "menotime-private-ecs-rt-a",
			"PrivateRouteTable2": "menotime-private-ecs-rt-b", "DatabaseRouteTable": "menotime-private-db-rt",
			"NATGateway1": "menotime-nat-gw-a", "NATGateway2": "menotime-nat-gw-b",
			"ALBSecurityGroup": "menotime-alb-sg", "ECSSecurityGroup": "menotime-ecs-sg", "RDSSecurityGroup": "menotime-db-sg",
			"S3GatewayEndpoint": "menotime-s3-gateway-endpoint", "SecretsManagerEndpoint": "menotime-secretsmanager-endpoint",
			"ECRAPIEndpoint": "menotime-ecr-endpoint", "ECRDockerEndpoint": "menotime-ecr-endpoint",
			"LoadBalancer": "menotime-alb", "BackendTargetGroup": "menotime-backend-tg", S3FlowLogID: "menotime-flow-logs",
		}},
		{"tradai", map[string]string{
			"VPC": "tradai-vpc", "ALBSecurityGroup": "tradai-alb-sg", "ECSSecurityGroup": "tradai-ecs-sg",
			"LambdaSecurityGroup": "tradai-lambda-sg", "RDSSecurityGroup": "tradai-rds-sg", "NATSecurityGroup": "tradai-nat-sg",
			"VPCEndpointSecurityGroup": "tradai-vpce-sg", "PublicNetworkAcl": "tradai-public-nacl",
			"PrivateNetworkAcl": "tradai-private-nacl", "DatabaseNetworkAcl": "tradai-database-nacl",
			"NATAutoScalingGroup": "tradai-nat-asg", "LoadBalancer": "tradai-alb", "BackendTargetGroup": "tradai-backend-tg",
			"DataTargetGroup": "tradai-data-tg", "MLflowTargetGroup": "tradai-mlflow-tg", S3FlowLogID: "tradai-vpc-flow-logs",
		}},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			// The flow log is the pipeline's with S3 delivery (the default), the
			// network's with CloudWatch Logs: the same name either way.
			s := synth(t, tc.preset, nil)
			got := nameTags(t, s.network)
			for id, v := range nameTags(t, s.pipeline) {
				got[id] = v
			}
			got["FlowLog"] = nameTags(t, synth(t, tc.preset, cwContext).network)["FlowLog"]
			tc.want["FlowLog"] = tc.want[S3FlowLogID]
			for id, want := range tc.want {
				if got[id] != want {
					t.Errorf("%s: Name %q, want %q", id, got[id], want)
				}
			}
		})
	}
}

// sgDescriptions maps "<group> <from port> <peer>" to the rule's description, for
// ingress and egress, inline and separate.
func sgDescriptions(t *testing.T, tmpl assertions.Template) map[string]string {
	out := map[string]string{}
	add := func(group, dir string, r map[string]any) {
		peer := fmt.Sprint(r["CidrIp"])
		for _, k := range []string{"SourceSecurityGroupId", "DestinationSecurityGroupId"} {
			if v, ok := r[k]; ok {
				peer = ref(v)
			}
		}
		out[fmt.Sprintf("%s %s %v %s", group, dir, r["FromPort"], peer)] = fmt.Sprint(r["Description"])
	}
	for id, p := range resources(t, tmpl, "AWS::EC2::SecurityGroup") {
		for _, k := range []string{"SecurityGroupIngress", "SecurityGroupEgress"} {
			rules, _ := p[k].([]any)
			for _, r := range rules {
				add(id, strings.TrimPrefix(k, "SecurityGroup"), r.(map[string]any))
			}
		}
	}
	for _, p := range resources(t, tmpl, "AWS::EC2::SecurityGroupIngress") {
		add(ref(p["GroupId"]), "Ingress", p)
	}
	return out
}

// TestSeedDescriptions: each preset's rules carry its own seed's wording.
func TestSeedDescriptions(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
		want   map[string]string
	}{
		{"menotime", map[string]string{"bastionCidr": "198.51.100.7/32"}, map[string]string{
			"ALBSecurityGroup Ingress 443 0.0.0.0/0":             "Client connections",
			"ALBSecurityGroup Ingress 80 0.0.0.0/0":              "Redirect to HTTPS",
			"ALBSecurityGroup Egress 8000 ECSSecurityGroup":      "Forward to ECS tasks",
			"ECSSecurityGroup Ingress 8000 ALBSecurityGroup":     "Health checks, requests from ALB",
			"ECSSecurityGroup Egress 5432 RDSSecurityGroup":      "Database connections",
			"ECSSecurityGroup Egress 443 0.0.0.0/0":              "HTTPS to AWS services (Secrets Manager, SES, S3, ECR)",
			"ECSSecurityGroup Egress 587 0.0.0.0/0":              "SMTP to SES",
			"ECSSecurityGroup Egress 53 0.0.0.0/0":               "DNS (Route 53)",
			"RDSSecurityGroup Ingress 5432 ECSSecurityGroup":     "Database connections from ECS",
			"RDSSecurityGroup Ingress 5432 BastionSecurityGroup": "Bastion host (optional, operational access)",
			"BastionSecurityGroup Ingress 22 198.51.100.7/32":    "SSH from specific office/VPN",
			"BastionSecurityGroup Egress 5432 RDSSecurityGroup":  "Database access",
			"BastionSecurityGroup Egress 443 0.0.0.0/0":          "HTTPS (updates, etc.)",
		}},
		{"tradai", nil, map[string]string{
			"ALBSecurityGroup Ingress 443 0.0.0.0/0":         "HTTPS from internet",
			"ALBSecurityGroup Ingress 80 0.0.0.0/0":          "HTTP redirect to HTTPS",
			"ECSSecurityGroup Ingress 8000 ALBSecurityGroup": "Backend API from ALB",
			"ECSSecurityGroup Egress 5432 RDSSecurityGroup":  "PostgreSQL to RDS",
			"RDSSecurityGroup Ingress 5432 ECSSecurityGroup": "PostgreSQL from ECS tasks",
		}},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			got := sgDescriptions(t, synth(t, tc.preset, tc.ctx).network)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s: %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

// TestBastionDatabaseACL: with a bastion, the database ACL admits its PostgreSQL
// path from the public subnets (and the responses back); without one it is the
// seed's ACL exactly.
func TestBastionDatabaseACL(t *testing.T) {
	entries := func(ctx map[string]string) []string {
		var out []string
		for id, p := range resources(t, synth(t, "menotime", ctx).network, "AWS::EC2::NetworkAclEntry") {
			pr := p["PortRange"].(map[string]any)
			out = append(out, fmt.Sprintf("%s egress=%v %v-%v %v", id, p["Egress"], pr["From"], pr["To"], p["CidrBlock"]))
		}
		return sorted(out)
	}
	seed := []string{
		"DatabaseNetworkAclIn100 egress=false 5432-5432 10.0.11.0/24",
		"DatabaseNetworkAclIn110 egress=false 5432-5432 10.0.12.0/24",
		"DatabaseNetworkAclOut100 egress=true 1024-65535 10.0.11.0/24",
		"DatabaseNetworkAclOut110 egress=true 1024-65535 10.0.12.0/24",
	}
	diff(t, "database ACL without a bastion", entries(nil), seed)
	diff(t, "database ACL with a bastion", entries(map[string]string{"bastionCidr": "198.51.100.7/32"}), sorted(append(seed,
		"DatabaseNetworkAclIn120 egress=false 5432-5432 10.0.1.0/24",
		"DatabaseNetworkAclIn130 egress=false 5432-5432 10.0.2.0/24",
		"DatabaseNetworkAclOut120 egress=true 1024-65535 10.0.1.0/24",
		"DatabaseNetworkAclOut130 egress=true 1024-65535 10.0.2.0/24",
	)))
}

// TestCertificate: without -c certificateArn, -c domain creates a DNS-validated ACM
// certificate in the preset's public zone: the zone menotime creates, or the zone
// tradai looks up (here from the context the CDK CLI would have cached).
func TestCertificate(t *testing.T) {
	t.Run("menotime creates the zone", func(t *testing.T) {
		tmpl := synth(t, "menotime", map[string]string{"domain": "menotime.example"}).network
		certs := resources(t, tmpl, "AWS::CertificateManager::Certificate")
		cert, ok := certs[CertificateID]
		if !ok {
			t.Fatalf("no certificate: %v", certs)
		}
		dvo, _ := json.Marshal(cert["DomainValidationOptions"])
		diff(t, "certificate", []any{cert["DomainName"], cert["SubjectAlternativeNames"], cert["ValidationMethod"]},
			[]any{"menotime.example", []any{"*.menotime.example"}, "DNS"})
		if !strings.Contains(string(dvo), `"HostedZoneId":{"Fn::GetAtt":["PublicHostedZone","Id"]}`) {
			t.Errorf("validation options %s", dvo)
		}
		listener := httpsListener(t, tmpl)
		if c, _ := json.Marshal(listener["Certificates"]); string(c) != `[{"CertificateArn":{"Ref":"Certificate"}}]` {
			t.Errorf("HTTPS listener certificates %s", c)
		}
	})
	t.Run("tradai looks the zone up", func(t *testing.T) {
		cfg, err := ConfigFromContext(func(k string) (string, bool) {
			v, ok := map[string]string{"domain": "tradai.example", "account": "123456789012"}[k]
			return v, ok
		})
		if err != nil {
			t.Fatal(err)
		}
		appCtx := AppContext()
		appCtx["hosted-zone:account=123456789012:domainName=tradai.example:region=us-east-1"] = map[string]any{
			"Id": "/hostedzone/Z0123456789ABCDEFGHIJ", "Name": "tradai.example.",
		}
		app := awscdk.NewApp(&awscdk.AppProps{Context: &appCtx})
		st := Build(app, cfg, lambdaCode(t))
		tmpl := assertions.Template_FromStack(st.Network.Stack, nil)
		cert := resources(t, tmpl, "AWS::CertificateManager::Certificate")[CertificateID]
		dvo, _ := json.Marshal(cert["DomainValidationOptions"])
		if cert["DomainName"] != "tradai.example" || !strings.Contains(string(dvo), `"HostedZoneId":"Z0123456789ABCDEFGHIJ"`) {
			t.Errorf("certificate %v, validation %s", cert["DomainName"], dvo)
		}
		check(t, func() { tmpl.ResourceCountIs(jstr("AWS::Route53::HostedZone"), jnum(1)) }) // the private zone only
	})
	t.Run("an ARN is used as given", func(t *testing.T) {
		tmpl := synth(t, "tradai", nil).network
		check(t, func() { tmpl.ResourceCountIs(jstr("AWS::CertificateManager::Certificate"), jnum(0)) })
	})
}

func httpsListener(t *testing.T, tmpl assertions.Template) map[string]any {
	for _, p := range resources(t, tmpl, "AWS::ElasticLoadBalancingV2::Listener") {
		if p["Port"] == float64(443) {
			return p
		}
	}
	t.Fatal("no HTTPS listener")
	return nil
}

// TestExistingVPC: -c vpcId deploys the pipeline only, which turns the flow log of
// that VPC on in flowq's format; -c flowLogGroup subscribes to the user's group.
func TestExistingVPC(t *testing.T) {
	t.Run("vpcId", func(t *testing.T) {
		s := synth(t, "tradai", map[string]string{"vpcId": "vpc-0123456789abcdef0"})
		if s.stacks.Network != nil {
			t.Fatal("a network stack with -c vpcId")
		}
		fls := resources(t, s.pipeline, "AWS::EC2::FlowLog")
		if len(fls) != 1 {
			t.Fatalf("flow logs: %v", fls)
		}
		for _, fl := range fls {
			diff(t, "flow log", []any{fl["ResourceId"], fl["ResourceType"], fl["TrafficType"], fl["LogFormat"]},
				[]any{"vpc-0123456789abcdef0", "VPC", "ALL", FlowLogFormat})
		}
		// S3 delivery read by the collector (the default): no subscription.
		check(t, func() { s.pipeline.ResourceCountIs(jstr("AWS::Logs::SubscriptionFilter"), jnum(0)) })
		if resources(t, s.pipeline, "AWS::Events::Rule")[CollectScheduleID] == nil {
			t.Error("no collector schedule")
		}
		// cdk-nag has nothing unsuppressed on the pipeline alone either.
		a := assertions.Annotations_FromStack(s.stacks.Pipeline.Stack)
		match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for _, m := range append(*a.FindError(jsii.String("*"), match), *a.FindWarning(jsii.String("*"), match)...) {
			t.Errorf("cdk-nag %s: %.80v", *m.Id, m.Entry.Data)
		}
	})
	t.Run("vpcId, CloudWatch Logs", func(t *testing.T) {
		s := synth(t, "tradai", map[string]string{"vpcId": "vpc-0123456789abcdef0", "flowLogDestination": "cloudwatch"})
		fls := resources(t, s.pipeline, "AWS::EC2::FlowLog")
		if fl := fls[FlowLogID]; len(fls) != 1 || fl == nil || fl["LogDestinationType"] != "cloud-watch-logs" || fl["ResourceId"] != "vpc-0123456789abcdef0" {
			t.Errorf("flow logs: %v", fls)
		}
		check(t, func() { s.pipeline.ResourceCountIs(jstr("AWS::Logs::SubscriptionFilter"), jnum(1)) })
		if resources(t, s.pipeline, "AWS::Events::Rule")[CollectScheduleID] != nil {
			t.Error("a collector schedule with CloudWatch Logs delivery")
		}
	})
	t.Run("flowLogGroup", func(t *testing.T) {
		s := synth(t, "tradai", map[string]string{"flowLogGroup": "/aws/vpc/prod-flow-logs"})
		if s.stacks.Network != nil {
			t.Fatal("a network stack with -c flowLogGroup")
		}
		check(t, func() { s.pipeline.ResourceCountIs(jstr("AWS::EC2::FlowLog"), jnum(0)) })
		subs := resources(t, s.pipeline, "AWS::Logs::SubscriptionFilter")
		for _, sub := range subs {
			if sub["LogGroupName"] != "/aws/vpc/prod-flow-logs" {
				t.Errorf("subscription on %v", sub["LogGroupName"])
			}
		}
		if len(subs) != 1 {
			t.Errorf("subscriptions: %v", subs)
		}
	})
}

// TestNATUserDataParses: the NAT instance's user data, as CloudFormation renders it,
// is a bash script bash accepts.
func TestNATUserDataParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	script := strings.NewReplacer("${AWS::Region}", "us-east-1", "${Hook}", "FlowqTradaiNetwork-nat-launch").Replace(natUserData)
	// Fn::Sub reads every ${...} as a variable: bash's own must be written $NAME.
	if strings.Contains(script, "${") {
		t.Fatalf("a ${...} that Fn::Sub would try to substitute:\n%s", script)
	}
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, out)
	}
	if !strings.HasPrefix(script, "#!/bin/bash\n") {
		t.Error("user data does not start with #!/bin/bash")
	}
}
