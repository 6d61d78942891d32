package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NetworkStackProps configures the seed network of one preset.
type NetworkStackProps struct {
	awscdk.StackProps
	Config Config
	// NATHookCode is the NAT lifecycle hook's bundle (cmd/nat-hook), for presets
	// with a NAT instance; see BuildLambda.
	NATHookCode awslambda.Code
}

// NetworkStack is the VPC of a seed document and what the pipeline needs from it.
type NetworkStack struct {
	awscdk.Stack
	VPC          awsec2.CfnVPC
	FlowLogGroup awslogs.LogGroup // nil with S3 delivery
	// NATGroup is the NAT instance's Auto Scaling group (nil with NAT Gateways).
	NATGroup awsautoscaling.CfnAutoScalingGroup
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
	name := func(role string) *[]*awscdk.CfnTag {
		return &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Tag(role))}}
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
		// The private default routes are the lifecycle hook's: it points them at
		// each instance the group launches.
		s.NATGroup = newNATInstance(stack, cfg, props.NATHookCode, vpc, public, privateRT, sgs.NAT, igwAttach).Group
	}

	newNetworkACLs(stack, vpc, cfg, public, private, database)

	// VPC endpoints.
	privateRTs := anys(privateRT[0].Ref(), privateRT[1].Ref())
	region := cfg.Region
	awsec2.NewCfnVPCEndpoint(stack, jsii.String("S3GatewayEndpoint"), &awsec2.CfnVPCEndpointProps{
		VpcId: vpc.Ref(), ServiceName: jsii.String("com.amazonaws." + region + ".s3"),
		VpcEndpointType: jsii.String("Gateway"), RouteTableIds: privateRTs,
		PolicyDocument: s3EndpointPolicy(p, region), Tags: name("s3-endpoint"),
	})
	if p.DynamoDBEndpoint {
		awsec2.NewCfnVPCEndpoint(stack, jsii.String("DynamoDBGatewayEndpoint"), &awsec2.CfnVPCEndpointProps{
			VpcId: vpc.Ref(), ServiceName: jsii.String("com.amazonaws." + region + ".dynamodb"),
			VpcEndpointType: jsii.String("Gateway"), RouteTableIds: privateRTs,
			PolicyDocument: dynamoDBEndpointPolicy(p, region), Tags: name("dynamodb-endpoint"),
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
				Tags: name(svc.name + "-endpoint"),
			})
		}
	}

	// The public zone and certificate of -c domain, the ALB (access logs, listeners,
	// target groups, rules) and the DNS records.
	zone, cert := newCertificate(stack, cfg)
	lb := newLoadBalancer(stack, cfg, cert, vpc, public, sgs)
	newRecords(stack, cfg, vpc, zone, lb)
	PublishDeclared(stack, cfg) // the declared security groups and network ACLs, for drift (declared.go)

	// Flow logs to CloudWatch Logs (with S3 delivery, the pipeline turns the flow
	// log on).
	if cfg.Pipeline.FlowLogDestination != FlowLogToS3 {
		s.FlowLogGroup = NewCloudWatchFlowLog(stack, vpc.Ref(), name("vpc-flow-logs"))
		awscdk.NewCfnOutput(stack, jsii.String("FlowLogGroupName"), &awscdk.CfnOutputProps{Value: s.FlowLogGroup.LogGroupName()})
	}

	awscdk.NewCfnOutput(stack, jsii.String("VPCId"), &awscdk.CfnOutputProps{Value: vpc.Ref()})
	awscdk.NewCfnOutput(stack, jsii.String("LoadBalancerDNS"), &awscdk.CfnOutputProps{Value: lb.AttrDnsName()})
	return s
}

// pin gives an L2 construct's CloudFormation resource a fixed logical ID, so that a
// refactor cannot replace a stateful resource.
func pin(c constructs.IConstruct, logicalID string) {
	c.Node().DefaultChild().(awscdk.CfnResource).OverrideLogicalId(jsii.String(logicalID))
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
