package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NetworkStackProps configures the seed network of one preset.
type NetworkStackProps struct {
	awscdk.StackProps
	Config Config
}

// NetworkStack is the VPC of a seed document and what the pipeline needs from it.
type NetworkStack struct {
	awscdk.Stack
	VPC          awsec2.CfnVPC
	FlowLogGroup awslogs.LogGroup
}

// Pinned logical IDs of the network's stateful resources.
const (
	FlowLogGroupID    = "FlowLogGroup"
	AccessLogBucketID = "AccessLogBucket"
)

// Security-group rule protocols and NACL protocol numbers.
const (
	tcp    = "tcp"
	udp    = "udp"
	tcpNum = 6
)

// NewNetworkStack builds the VPC, routing, NAT, security groups, NACLs, endpoints,
// ALB, DNS and flow logs that the preset's seed document describes. The stack uses
// L1 constructs throughout so that every CIDR, rule number and port is exactly the
// seed's.
func NewNetworkStack(scope constructs.Construct, id string, props *NetworkStackProps) *NetworkStack {
	cfg := props.Config
	p := cfg.Preset
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &NetworkStack{Stack: stack}
	if cfg.CertificateARN == PlaceholderCertificateARN {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("flowq:placeholder-certificate"), jsii.String(
			"no -c certificateArn given: the HTTPS listener uses a placeholder ARN, which a real deployment rejects"))
	}
	name := func(suffix string) *[]*awscdk.CfnTag {
		return &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-" + suffix)}}
	}

	// VPC, subnets, internet gateway.
	vpc := awsec2.NewCfnVPC(stack, jsii.String("VPC"), &awsec2.CfnVPCProps{
		CidrBlock:          jsii.String(VPCCIDR),
		EnableDnsHostnames: jsii.Bool(true),
		EnableDnsSupport:   jsii.Bool(true),
		Tags:               name("vpc"),
	})
	s.VPC = vpc
	igw := awsec2.NewCfnInternetGateway(stack, jsii.String("InternetGateway"), &awsec2.CfnInternetGatewayProps{Tags: name("igw")})
	igwAttach := awsec2.NewCfnVPCGatewayAttachment(stack, jsii.String("InternetGatewayAttachment"), &awsec2.CfnVPCGatewayAttachmentProps{
		VpcId: vpc.Ref(), InternetGatewayId: igw.Ref(),
	})
	az := func(i int) *string { return awscdk.Fn_Select(jsii.Number(i), awscdk.Fn_GetAzs(jsii.String(""))) }
	subnet := func(id, cidr, tag string, i int) awsec2.CfnSubnet {
		return awsec2.NewCfnSubnet(stack, jsii.String(id), &awsec2.CfnSubnetProps{
			VpcId: vpc.Ref(), CidrBlock: jsii.String(cidr), AvailabilityZone: az(i),
			MapPublicIpOnLaunch: jsii.Bool(false), Tags: name(tag),
		})
	}
	var public, private, database [2]awsec2.CfnSubnet
	for i := range 2 {
		l := string(rune('a' + i))
		public[i] = subnet(fmt.Sprintf("PublicSubnet%d", i+1), PublicCIDRs[i], "public-"+l, i)
		private[i] = subnet(fmt.Sprintf("PrivateSubnet%d", i+1), PrivateCIDRs[i], "private-"+l, i)
		database[i] = subnet(fmt.Sprintf("DatabaseSubnet%d", i+1), p.DatabaseCIDRs[i], "database-"+l, i)
	}
	ids := func(sn [2]awsec2.CfnSubnet) *[]any { return anys(sn[0].Ref(), sn[1].Ref()) }

	// Route tables: public (IGW), one private per AZ (NAT), database (local only).
	routeTable := func(id, tag string, subnets ...awsec2.CfnSubnet) awsec2.CfnRouteTable {
		rt := awsec2.NewCfnRouteTable(stack, jsii.String(id), &awsec2.CfnRouteTableProps{VpcId: vpc.Ref(), Tags: name(tag)})
		for i, sn := range subnets {
			awsec2.NewCfnSubnetRouteTableAssociation(stack, jsii.String(fmt.Sprintf("%sAssoc%d", id, i+1)), &awsec2.CfnSubnetRouteTableAssociationProps{
				SubnetId: sn.Ref(), RouteTableId: rt.Ref(),
			})
		}
		return rt
	}
	publicRT := routeTable("PublicRouteTable", "public-rt", public[0], public[1])
	igwRoute := awsec2.NewCfnRoute(stack, jsii.String("PublicDefaultRoute"), &awsec2.CfnRouteProps{
		RouteTableId: publicRT.Ref(), DestinationCidrBlock: jsii.String("0.0.0.0/0"), GatewayId: igw.Ref(),
	})
	igwRoute.Node().AddDependency(igwAttach)
	var privateRT [2]awsec2.CfnRouteTable
	for i := range 2 {
		privateRT[i] = routeTable(fmt.Sprintf("PrivateRouteTable%d", i+1), fmt.Sprintf("private-rt-%c", 'a'+i), private[i])
	}
	routeTable("DatabaseRouteTable", "database-rt", database[0], database[1])

	// Security groups. CIDR rules and all egress are inline (an inline egress list
	// also removes EC2's default allow-all egress); ingress from another group is a
	// separate resource, which keeps the group graph acyclic.
	sgs := newSecurityGroups(stack, vpc, cfg)

	// NAT.
	switch p.NAT {
	case NATGatewayPerAZ:
		for i := range 2 {
			eip := awsec2.NewCfnEIP(stack, jsii.String(fmt.Sprintf("NATGatewayEIP%d", i+1)), &awsec2.CfnEIPProps{Domain: jsii.String("vpc"), Tags: name(fmt.Sprintf("nat-eip-%c", 'a'+i))})
			eip.Node().AddDependency(igwAttach)
			nat := awsec2.NewCfnNatGateway(stack, jsii.String(fmt.Sprintf("NATGateway%d", i+1)), &awsec2.CfnNatGatewayProps{
				SubnetId: public[i].Ref(), AllocationId: eip.AttrAllocationId(), Tags: name(fmt.Sprintf("nat-gw-%c", 'a'+i)),
			})
			awsec2.NewCfnRoute(stack, jsii.String(fmt.Sprintf("PrivateDefaultRoute%d", i+1)), &awsec2.CfnRouteProps{
				RouteTableId: privateRT[i].Ref(), DestinationCidrBlock: jsii.String("0.0.0.0/0"), NatGatewayId: nat.Ref(),
			})
		}
	case NATInstance:
		eni := newNATInstance(stack, cfg, public[0], sgs.NAT, igwAttach)
		for i := range 2 {
			awsec2.NewCfnRoute(stack, jsii.String(fmt.Sprintf("PrivateDefaultRoute%d", i+1)), &awsec2.CfnRouteProps{
				RouteTableId: privateRT[i].Ref(), DestinationCidrBlock: jsii.String("0.0.0.0/0"), NetworkInterfaceId: eni.Ref(),
			})
		}
	}

	newNetworkACLs(stack, vpc, cfg, public, private, database)

	// VPC endpoints.
	privateRTs := anys(privateRT[0].Ref(), privateRT[1].Ref())
	region := cfg.Region
	awsec2.NewCfnVPCEndpoint(stack, jsii.String("S3GatewayEndpoint"), &awsec2.CfnVPCEndpointProps{
		VpcId: vpc.Ref(), ServiceName: jsii.String("com.amazonaws." + region + ".s3"),
		VpcEndpointType: jsii.String("Gateway"), RouteTableIds: privateRTs,
		PolicyDocument: s3EndpointPolicy(p, region),
	})
	if p.DynamoDBEndpoint {
		awsec2.NewCfnVPCEndpoint(stack, jsii.String("DynamoDBGatewayEndpoint"), &awsec2.CfnVPCEndpointProps{
			VpcId: vpc.Ref(), ServiceName: jsii.String("com.amazonaws." + region + ".dynamodb"),
			VpcEndpointType: jsii.String("Gateway"), RouteTableIds: privateRTs,
			PolicyDocument: dynamoDBEndpointPolicy(p, region),
		})
	}
	if p.InterfaceEndpoints {
		for _, svc := range []struct{ id, name string }{
			{"SecretsManagerEndpoint", "secretsmanager"}, {"ECRAPIEndpoint", "ecr.api"}, {"ECRDockerEndpoint", "ecr.dkr"},
		} {
			awsec2.NewCfnVPCEndpoint(stack, jsii.String(svc.id), &awsec2.CfnVPCEndpointProps{
				VpcId: vpc.Ref(), ServiceName: jsii.String("com.amazonaws." + region + "." + svc.name),
				VpcEndpointType: jsii.String("Interface"), SubnetIds: ids(private),
				SecurityGroupIds: anys(sgs.VPCEndpoint.AttrGroupId()), PrivateDnsEnabled: jsii.Bool(true),
			})
		}
	}

	// ALB with access logs, listeners, target groups and rules.
	lb := newLoadBalancer(stack, cfg, vpc, public, sgs)

	// DNS.
	switch {
	case p.PrivateZone != "":
		zone := awsroute53.NewCfnHostedZone(stack, jsii.String("PrivateHostedZone"), &awsroute53.CfnHostedZoneProps{
			Name: jsii.String(p.PrivateZone),
			Vpcs: &[]*awsroute53.CfnHostedZone_VPCProperty{{VpcId: vpc.Ref(), VpcRegion: jsii.String(region)}},
			HostedZoneConfig: &awsroute53.CfnHostedZone_HostedZoneConfigProperty{
				Comment: jsii.String(p.Name + " private zone"),
			},
		})
		for _, host := range []string{"backend", "data", "mlflow"} {
			aliasRecord(stack, zone, host+"."+p.PrivateZone, lb)
		}
	case cfg.Domain != "":
		zone := awsroute53.NewCfnHostedZone(stack, jsii.String("PublicHostedZone"), &awsroute53.CfnHostedZoneProps{
			Name: jsii.String(cfg.Domain),
		})
		aliasRecord(stack, zone, "api."+cfg.Domain, lb)
		awsroute53.NewCfnRecordSet(stack, jsii.String("WWWRecord"), &awsroute53.CfnRecordSetProps{
			HostedZoneId: zone.Ref(), Name: jsii.String("www." + cfg.Domain), Type: jsii.String("CNAME"),
			Ttl: jsii.String("300"), ResourceRecords: &[]*string{jsii.String(cfg.Domain)},
		})
	}

	// Flow logs to CloudWatch Logs.
	s.FlowLogGroup = awslogs.NewLogGroup(stack, jsii.String(FlowLogGroupID), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_WEEK,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	pin(s.FlowLogGroup, FlowLogGroupID)
	flowRole := awsiam.NewRole(stack, jsii.String("FlowLogRole"), &awsiam.RoleProps{
		Description: jsii.String("lets VPC Flow Logs write to the flow-log group"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("vpc-flow-logs.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}},
		}),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"deliver": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"),
				Resources: &[]*string{s.FlowLogGroup.LogGroupArn()},
			})},
		})},
	})
	awsec2.NewCfnFlowLog(stack, jsii.String("FlowLog"), &awsec2.CfnFlowLogProps{
		ResourceId: vpc.Ref(), ResourceType: jsii.String("VPC"), TrafficType: jsii.String("ALL"),
		LogDestinationType: jsii.String("cloud-watch-logs"), LogGroupName: s.FlowLogGroup.LogGroupName(),
		DeliverLogsPermissionArn: flowRole.RoleArn(), LogFormat: jsii.String(FlowLogFormat),
		MaxAggregationInterval: jsii.Number(600), Tags: name("vpc-flow-logs"),
	})

	awscdk.NewCfnOutput(stack, jsii.String("VPCId"), &awscdk.CfnOutputProps{Value: vpc.Ref()})
	awscdk.NewCfnOutput(stack, jsii.String("LoadBalancerDNS"), &awscdk.CfnOutputProps{Value: lb.AttrDnsName()})
	awscdk.NewCfnOutput(stack, jsii.String("FlowLogGroupName"), &awscdk.CfnOutputProps{Value: s.FlowLogGroup.LogGroupName()})
	return s
}

// pin gives an L2 construct's CloudFormation resource a fixed logical ID, so that a
// refactor cannot replace a stateful resource.
func pin(c constructs.IConstruct, logicalID string) {
	c.Node().DefaultChild().(awscdk.CfnResource).OverrideLogicalId(jsii.String(logicalID))
}

func aliasRecord(stack awscdk.Stack, zone awsroute53.CfnHostedZone, fqdn string, lb elbv2.CfnLoadBalancer) {
	host := strings.ReplaceAll(strings.Split(fqdn, ".")[0], "-", "")
	id := strings.ToUpper(host[:1]) + host[1:] + "Record"
	awsroute53.NewCfnRecordSet(stack, jsii.String(id), &awsroute53.CfnRecordSetProps{
		HostedZoneId: zone.Ref(), Name: jsii.String(fqdn), Type: jsii.String("A"),
		AliasTarget: &awsroute53.CfnRecordSet_AliasTargetProperty{
			DnsName: lb.AttrDnsName(), HostedZoneId: lb.AttrCanonicalHostedZoneId(), EvaluateTargetHealth: jsii.Bool(true),
		},
	})
}

// securityGroups are the seeds' groups; nil when the preset has none.
type securityGroups struct {
	ALB, ECS, Lambda, RDS, NAT, VPCEndpoint, Bastion awsec2.CfnSecurityGroup
}

type sgRule struct {
	proto    string
	from, to float64
	cidr     string
	group    awsec2.CfnSecurityGroup
	desc     string
}

func ingress(r sgRule) *awsec2.CfnSecurityGroup_IngressProperty {
	return &awsec2.CfnSecurityGroup_IngressProperty{
		IpProtocol: jsii.String(r.proto), FromPort: jsii.Number(r.from), ToPort: jsii.Number(r.to),
		CidrIp: jsii.String(r.cidr), Description: jsii.String(r.desc),
	}
}

func egress(r sgRule) *awsec2.CfnSecurityGroup_EgressProperty {
	e := &awsec2.CfnSecurityGroup_EgressProperty{IpProtocol: jsii.String(r.proto), Description: jsii.String(r.desc)}
	if r.proto != "-1" { // all protocols: ports do not apply
		e.FromPort, e.ToPort = jsii.Number(r.from), jsii.Number(r.to)
	}
	if r.group != nil {
		e.DestinationSecurityGroupId = r.group.AttrGroupId()
	} else {
		e.CidrIp = jsii.String(r.cidr)
	}
	return e
}

// noEgress is the rule CDK uses for "no outbound traffic": an inline egress list
// replaces EC2's default allow-all, and this rule matches nothing.
var noEgress = sgRule{proto: "icmp", from: 252, to: 86, cidr: "255.255.255.255/32", desc: "Disallow all traffic"}

func newSecurityGroups(stack awscdk.Stack, vpc awsec2.CfnVPC, cfg Config) *securityGroups {
	p := cfg.Preset
	sg := func(id, name, desc string, in []sgRule, out []sgRule) awsec2.CfnSecurityGroup {
		var ins []*awsec2.CfnSecurityGroup_IngressProperty
		for _, r := range in {
			ins = append(ins, ingress(r))
		}
		var outs []*awsec2.CfnSecurityGroup_EgressProperty
		for _, r := range out {
			outs = append(outs, egress(r))
		}
		props := &awsec2.CfnSecurityGroupProps{
			VpcId: vpc.Ref(), GroupDescription: jsii.String(desc), SecurityGroupEgress: &outs,
			Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-" + name)}},
		}
		if len(ins) > 0 {
			props.SecurityGroupIngress = &ins
		}
		return awsec2.NewCfnSecurityGroup(stack, jsii.String(id), props)
	}
	from := func(id string, target, source awsec2.CfnSecurityGroup, port float64, desc string) {
		awsec2.NewCfnSecurityGroupIngress(stack, jsii.String(id), &awsec2.CfnSecurityGroupIngressProps{
			GroupId: target.AttrGroupId(), SourceSecurityGroupId: source.AttrGroupId(),
			IpProtocol: jsii.String(tcp), FromPort: jsii.Number(port), ToPort: jsii.Number(port), Description: jsii.String(desc),
		})
	}
	g := &securityGroups{}
	g.RDS = sg("RDSSecurityGroup", "rds-sg", "Security group for RDS PostgreSQL", nil, []sgRule{noEgress})
	ecsOut := []sgRule{
		{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: "HTTPS to AWS APIs (via NAT)"},
		{proto: tcp, from: 5432, to: 5432, group: g.RDS, desc: "PostgreSQL to RDS"},
	}
	if !p.MultiService { // seed 000's extra ECS egress
		ecsOut = append(ecsOut,
			sgRule{proto: tcp, from: 587, to: 587, cidr: "0.0.0.0/0", desc: "SMTP to SES"},
			sgRule{proto: udp, from: 53, to: 53, cidr: "0.0.0.0/0", desc: "DNS (Route 53)"})
	}
	g.ECS = sg("ECSSecurityGroup", "ecs-sg", "Security group for ECS tasks", nil, ecsOut)
	albOut := []sgRule{{proto: tcp, from: 8000, to: 8000, group: g.ECS, desc: "Forward to ECS tasks"}}
	if p.MultiService {
		albOut = []sgRule{
			{proto: tcp, from: 8000, to: 8002, group: g.ECS, desc: "To ECS services"},
			{proto: tcp, from: 5000, to: 5000, group: g.ECS, desc: "To MLflow service"},
		}
	}
	g.ALB = sg("ALBSecurityGroup", "alb-sg", "Security group for Application Load Balancer", []sgRule{
		{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: "HTTPS from internet"},
		{proto: tcp, from: 80, to: 80, cidr: "0.0.0.0/0", desc: "HTTP redirect to HTTPS"},
	}, albOut)
	from("ECSFromALB8000", g.ECS, g.ALB, 8000, "Backend API from ALB")
	if p.MultiService {
		from("ECSFromALB8002", g.ECS, g.ALB, 8002, "Data Collection from ALB")
		from("ECSFromALB5000", g.ECS, g.ALB, 5000, "MLflow from ALB")
		from("ECSFromSelf5000", g.ECS, g.ECS, 5000, "MLflow from other ECS tasks")
	}
	if p.LambdaSG {
		g.Lambda = sg("LambdaSecurityGroup", "lambda-sg", "Security group for Lambda functions in VPC", nil, []sgRule{
			{proto: tcp, from: 8002, to: 8002, group: g.ECS, desc: "To Data Collection Service"},
			{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: "HTTPS to AWS APIs (via NAT)"},
		})
		from("ECSFromLambda8002", g.ECS, g.Lambda, 8002, "Data Collection from Lambda")
	}
	from("RDSFromECS5432", g.RDS, g.ECS, 5432, "PostgreSQL from ECS tasks")
	if p.NAT == NATInstance {
		var in []sgRule
		for _, port := range []float64{443, 80} {
			for i, cidr := range PrivateCIDRs {
				in = append(in, sgRule{proto: tcp, from: port, to: port, cidr: cidr,
					desc: fmt.Sprintf("%s from private subnet AZ-%d", map[float64]string{443: "HTTPS", 80: "HTTP"}[port], i+1)})
			}
		}
		g.NAT = sg("NATSecurityGroup", "nat-sg", "Security group for NAT Instance", in, []sgRule{
			{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: "HTTPS to internet"},
			{proto: tcp, from: 80, to: 80, cidr: "0.0.0.0/0", desc: "HTTP to internet"},
		})
	}
	allOut := []sgRule{{proto: "-1", from: -1, to: -1, cidr: "0.0.0.0/0", desc: "All outbound"}}
	if p.VPCEndpointIngressFromECS {
		g.VPCEndpoint = sg("VPCEndpointSecurityGroup", "vpce-sg", "Security group for VPC Interface Endpoints", nil, allOut)
		from("VPCEndpointFromECS443", g.VPCEndpoint, g.ECS, 443, "HTTPS from ECS tasks")
	} else {
		g.VPCEndpoint = sg("VPCEndpointSecurityGroup", "vpce-sg", "Security group for VPC Interface Endpoints", []sgRule{
			{proto: tcp, from: 443, to: 443, cidr: VPCCIDR, desc: "HTTPS from VPC"},
		}, allOut)
	}
	if cfg.BastionCIDR != "" {
		g.Bastion = sg("BastionSecurityGroup", "bastion-sg", "Jump host for operational database access", []sgRule{
			{proto: tcp, from: 22, to: 22, cidr: cfg.BastionCIDR, desc: "SSH from specific office/VPN"},
		}, []sgRule{
			{proto: tcp, from: 5432, to: 5432, group: g.RDS, desc: "Database access"},
			{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: "HTTPS (updates, etc.)"},
		})
		from("RDSFromBastion5432", g.RDS, g.Bastion, 5432, "Bastion host (operational access)")
	}
	return g
}

// naclEntry is one numbered rule of a network ACL.
type naclEntry struct {
	rule     float64
	egress   bool
	from, to float64
	cidr     string
}

func newNetworkACLs(stack awscdk.Stack, vpc awsec2.CfnVPC, cfg Config, public, private, database [2]awsec2.CfnSubnet) {
	p := cfg.Preset
	acl := func(id, tag string, subnets [2]awsec2.CfnSubnet, entries []naclEntry) {
		nacl := awsec2.NewCfnNetworkAcl(stack, jsii.String(id), &awsec2.CfnNetworkAclProps{
			VpcId: vpc.Ref(), Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-" + tag)}},
		})
		for _, e := range entries {
			dir := "In"
			if e.egress {
				dir = "Out"
			}
			awsec2.NewCfnNetworkAclEntry(stack, jsii.String(fmt.Sprintf("%s%s%d", id, dir, int(e.rule))), &awsec2.CfnNetworkAclEntryProps{
				NetworkAclId: nacl.Ref(), RuleNumber: jsii.Number(e.rule), Protocol: jsii.Number(tcpNum),
				RuleAction: jsii.String("allow"), Egress: jsii.Bool(e.egress), CidrBlock: jsii.String(e.cidr),
				PortRange: &awsec2.CfnNetworkAclEntry_PortRangeProperty{From: jsii.Number(e.from), To: jsii.Number(e.to)},
			})
		}
		for i, sn := range subnets {
			awsec2.NewCfnSubnetNetworkAclAssociation(stack, jsii.String(fmt.Sprintf("%sAssoc%d", id, i+1)), &awsec2.CfnSubnetNetworkAclAssociationProps{
				SubnetId: sn.Ref(), NetworkAclId: nacl.Ref(),
			})
		}
	}
	for _, t := range NetworkACLTables(p) {
		switch t.Tier {
		case "public":
			acl("PublicNetworkAcl", "public-nacl", public, t.Entries)
		case "private":
			acl("PrivateNetworkAcl", "private-nacl", private, t.Entries)
		case "database":
			acl("DatabaseNetworkAcl", "database-nacl", database, t.Entries)
		}
	}
}

// NACLTable is one tier's network ACL: its allow rules; everything else hits the
// ACL's implicit "*" deny.
type NACLTable struct {
	Tier    string
	Entries []naclEntry
}

// NACLRule is an exported view of one entry, for tests and the deploy check.
type NACLRule struct {
	Rule     int
	Egress   bool
	From, To int
	CIDR     string
}

// Rules lists the table's entries.
func (t NACLTable) Rules() []NACLRule {
	var out []NACLRule
	for _, e := range t.Entries {
		out = append(out, NACLRule{Rule: int(e.rule), Egress: e.egress, From: int(e.from), To: int(e.to), CIDR: e.cidr})
	}
	return out
}

// NetworkACLTables returns seed 001's ACL tables with the preset's database CIDRs.
// Presets without SeedNACLs get only the database table (seed 000: PostgreSQL in
// from the ECS subnets, and no egress but the responses to them).
func NetworkACLTables(p Preset) []NACLTable {
	eph := ephemeralPorts
	db := NACLTable{Tier: "database", Entries: []naclEntry{
		{rule: 100, from: 5432, to: 5432, cidr: PrivateCIDRs[0]},
		{rule: 110, from: 5432, to: 5432, cidr: PrivateCIDRs[1]},
		{rule: 100, egress: true, from: eph[0], to: eph[1], cidr: PrivateCIDRs[0]},
		{rule: 110, egress: true, from: eph[0], to: eph[1], cidr: PrivateCIDRs[1]},
	}}
	if !p.SeedNACLs {
		return []NACLTable{db}
	}
	public := NACLTable{Tier: "public", Entries: []naclEntry{
		{rule: 100, from: 443, to: 443, cidr: "0.0.0.0/0"},
		{rule: 110, from: 80, to: 80, cidr: "0.0.0.0/0"},
		{rule: 120, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
		{rule: 100, egress: true, from: 443, to: 443, cidr: "0.0.0.0/0"},
		{rule: 110, egress: true, from: 80, to: 80, cidr: "0.0.0.0/0"},
		{rule: 120, egress: true, from: 8000, to: 8002, cidr: VPCCIDR},
		{rule: 130, egress: true, from: 5000, to: 5000, cidr: VPCCIDR},
		{rule: 140, egress: true, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
	}}
	private := NACLTable{Tier: "private", Entries: []naclEntry{
		{rule: 100, from: 8000, to: 8002, cidr: PublicCIDRs[0]},
		{rule: 110, from: 8000, to: 8002, cidr: PublicCIDRs[1]},
		{rule: 120, from: 5000, to: 5000, cidr: VPCCIDR},
		{rule: 130, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
		{rule: 100, egress: true, from: 443, to: 443, cidr: "0.0.0.0/0"},
		{rule: 110, egress: true, from: 5432, to: 5432, cidr: p.DatabaseCIDRs[0]},
		{rule: 120, egress: true, from: 5432, to: 5432, cidr: p.DatabaseCIDRs[1]},
		{rule: 130, egress: true, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
	}}
	return []NACLTable{public, private, db}
}

func s3EndpointPolicy(p Preset, region string) any {
	var res []string
	for _, b := range p.S3EndpointBuckets {
		res = append(res, "arn:aws:s3:::"+b, "arn:aws:s3:::"+b+"/*")
	}
	// ECR keeps image layers in this AWS-owned bucket; without it image pulls
	// through the gateway endpoint fail.
	res = append(res, "arn:aws:s3:::prod-"+region+"-starport-layer-bucket/*")
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid": "SeedBuckets", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": res,
		}},
	}
}

func dynamoDBEndpointPolicy(p Preset, region string) any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid": "SeedTables", "Effect": "Allow", "Principal": "*", "Action": "dynamodb:*",
			"Resource": awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:dynamodb:"+region+":${AWS::AccountId}:table/"+p.DynamoDBTablePattern), nil),
		}},
	}
}

// elbLogAccounts are the Elastic Load Balancing accounts that write access logs in
// regions opened before August 2022; newer regions use the log-delivery service
// principal.
var elbLogAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
	"us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
	"ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
	"ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
	"ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
	"eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-south-1": "635631232127",
	"eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}

// TargetGroupSpec is one of the seeds' target groups.
type TargetGroupSpec struct {
	ID   string
	Port int
}

// TargetGroups lists the preset's target groups.
func TargetGroups(p Preset) []TargetGroupSpec {
	if !p.MultiService {
		return []TargetGroupSpec{{"BackendTargetGroup", 8000}}
	}
	return []TargetGroupSpec{{"BackendTargetGroup", 8000}, {"DataTargetGroup", 8002}, {"MLflowTargetGroup", 5000}}
}

// TLSPolicy is the HTTPS listener's policy: TLS 1.2 and 1.3 only.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

func newLoadBalancer(stack awscdk.Stack, cfg Config, vpc awsec2.CfnVPC, public [2]awsec2.CfnSubnet, sgs *securityGroups) elbv2.CfnLoadBalancer {
	p := cfg.Preset
	logs := awss3.NewBucket(stack, jsii.String(AccessLogBucketID), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED, // ALB access logs support SSE-S3 only
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(false),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("expire-access-logs"), Expiration: awscdk.Duration_Days(jsii.Number(90)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
	})
	pin(logs, AccessLogBucketID)
	var principal awsiam.IPrincipal = awsiam.NewServicePrincipal(jsii.String("logdelivery.elasticloadbalancing.amazonaws.com"), nil)
	if acct, ok := elbLogAccounts[cfg.Region]; ok {
		principal = awsiam.NewArnPrincipal(jsii.String("arn:aws:iam::" + acct + ":root"))
	}
	logs.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ELBAccessLogs"), Principals: &[]awsiam.IPrincipal{principal},
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: &[]*string{logs.ArnForObjects(jsii.String("alb/AWSLogs/" + *stack.Account() + "/*"))},
	}))
	lb := elbv2.NewCfnLoadBalancer(stack, jsii.String("LoadBalancer"), &elbv2.CfnLoadBalancerProps{
		Scheme: jsii.String("internet-facing"), Type: jsii.String("application"), IpAddressType: jsii.String("ipv4"),
		Subnets: anys(public[0].Ref(), public[1].Ref()), SecurityGroups: anys(sgs.ALB.AttrGroupId()),
		LoadBalancerAttributes: &[]*elbv2.CfnLoadBalancer_LoadBalancerAttributeProperty{
			{Key: jsii.String("access_logs.s3.enabled"), Value: jsii.String("true")},
			{Key: jsii.String("access_logs.s3.bucket"), Value: logs.BucketName()},
			{Key: jsii.String("access_logs.s3.prefix"), Value: jsii.String("alb")},
			{Key: jsii.String("routing.http.drop_invalid_header_fields.enabled"), Value: jsii.String("true")},
		},
		Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-alb")}},
	})
	lb.Node().AddDependency(logs.Policy())

	tgs := map[string]elbv2.CfnTargetGroup{}
	for _, spec := range TargetGroups(p) {
		tgs[spec.ID] = elbv2.NewCfnTargetGroup(stack, jsii.String(spec.ID), &elbv2.CfnTargetGroupProps{
			Protocol: jsii.String("HTTP"), Port: jsii.Number(spec.Port), TargetType: jsii.String("ip"), VpcId: vpc.Ref(),
			HealthCheckEnabled: jsii.Bool(true), HealthCheckProtocol: jsii.String("HTTP"), HealthCheckPath: jsii.String("/health"),
			HealthCheckIntervalSeconds: jsii.Number(30), HealthCheckTimeoutSeconds: jsii.Number(5),
			HealthyThresholdCount: jsii.Number(2), UnhealthyThresholdCount: jsii.Number(3),
			Matcher: &elbv2.CfnTargetGroup_MatcherProperty{HttpCode: jsii.String("200")},
			TargetGroupAttributes: &[]*elbv2.CfnTargetGroup_TargetGroupAttributeProperty{
				{Key: jsii.String("deregistration_delay.timeout_seconds"), Value: jsii.String("30")},
				{Key: jsii.String("stickiness.enabled"), Value: jsii.String("false")},
			},
		})
	}
	elbv2.NewCfnListener(stack, jsii.String("HTTPListener"), &elbv2.CfnListenerProps{
		LoadBalancerArn: lb.Ref(), Port: jsii.Number(80), Protocol: jsii.String("HTTP"),
		DefaultActions: &[]*elbv2.CfnListener_ActionProperty{{
			Type: jsii.String("redirect"),
			RedirectConfig: &elbv2.CfnListener_RedirectConfigProperty{
				Protocol: jsii.String("HTTPS"), Port: jsii.String("443"), StatusCode: jsii.String("HTTP_301"),
				Host: jsii.String("#{host}"), Path: jsii.String("/#{path}"), Query: jsii.String("#{query}"),
			},
		}},
	})
	def := &elbv2.CfnListener_ActionProperty{Type: jsii.String("forward"), TargetGroupArn: tgs["BackendTargetGroup"].Ref()}
	if p.MultiService {
		def = &elbv2.CfnListener_ActionProperty{Type: jsii.String("fixed-response"),
			FixedResponseConfig: &elbv2.CfnListener_FixedResponseConfigProperty{
				StatusCode: jsii.String("404"), ContentType: jsii.String("text/plain"), MessageBody: jsii.String("not found"),
			}}
	}
	https := elbv2.NewCfnListener(stack, jsii.String("HTTPSListener"), &elbv2.CfnListenerProps{
		LoadBalancerArn: lb.Ref(), Port: jsii.Number(443), Protocol: jsii.String("HTTPS"),
		SslPolicy:      jsii.String(TLSPolicy),
		Certificates:   &[]*elbv2.CfnListener_CertificateProperty{{CertificateArn: jsii.String(cfg.CertificateARN)}},
		DefaultActions: &[]*elbv2.CfnListener_ActionProperty{def},
	})
	if p.MultiService {
		for _, r := range ListenerRules() {
			elbv2.NewCfnListenerRule(stack, jsii.String(r.ID), &elbv2.CfnListenerRuleProps{
				ListenerArn: https.Ref(), Priority: jsii.Number(r.Priority),
				Conditions: &[]*elbv2.CfnListenerRule_RuleConditionProperty{{
					Field:             jsii.String("path-pattern"),
					PathPatternConfig: &elbv2.CfnListenerRule_PathPatternConfigProperty{Values: jsii.Strings(r.Paths...)},
				}},
				Actions: &[]*elbv2.CfnListenerRule_ActionProperty{{Type: jsii.String("forward"), TargetGroupArn: tgs[r.TargetGroup].Ref()}},
			})
		}
	}
	return lb
}

// ListenerRule is one of seed 001's HTTPS listener rules.
type ListenerRule struct {
	ID          string
	Priority    int
	Paths       []string
	TargetGroup string
}

// ListenerRules are seed 001's path rules; anything else gets the fixed 404.
func ListenerRules() []ListenerRule {
	return []ListenerRule{
		{"BackendRule", 1, []string{"/strategies/*", "/data/*", "/health", "/backtest/*"}, "BackendTargetGroup"},
		{"MLflowRule", 2, []string{"/mlflow/*"}, "MLflowTargetGroup"},
	}
}
