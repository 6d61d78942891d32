package stacks

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppression is one accepted cdk-nag finding and why it is accepted.
type suppression struct {
	id, reason string
	appliesTo  []string
}

func suppress(c constructs.IConstruct, children bool, ss ...suppression) {
	var out []*cdknag.NagPackSuppression
	for _, s := range ss {
		n := &cdknag.NagPackSuppression{Id: jsii.String(s.id), Reason: jsii.String(s.reason)}
		if len(s.appliesTo) > 0 {
			var at []any
			for _, a := range s.appliesTo {
				at = append(at, a)
			}
			n.AppliesTo = &at
		}
		out = append(out, n)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &out, jsii.Bool(children))
}

// Suppressions is every accepted AwsSolutions finding, by construct path under its
// stack, with the reason; README.md lists the same.
var networkSuppressions = map[string][]suppression{
	"ALBSecurityGroup":    {{id: "AwsSolutions-EC23", reason: "The ALB is the product's public entry point: both seeds open exactly TCP 443 (HTTPS) and TCP 80 (301 redirect to HTTPS) to 0.0.0.0/0 and nothing else."}},
	"AccessLogBucket":     {{id: "AwsSolutions-S1", reason: "This bucket is the ALB access-log destination; logging its own access into itself would loop. CloudTrail S3 data events cover it where an audit trail is required."}},
	"NATAutoScalingGroup": {{id: "AwsSolutions-AS3", reason: "The NAT group's launches and terminations, successful or not, reach the alert topic through an EventBridge rule in the pipeline stack (the topic is deployed after the network, so the group cannot name it)."}},
	"NATInstanceRole": {
		{id: "AwsSolutions-IAM4", appliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"},
			reason: "AmazonSSMManagedInstanceCore is AWS's documented minimum for SSM Session Manager, which replaces the seed's SSH key; AWS keeps it current with the agent's calls."},
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*"},
			reason: "The group's name is generated and the group depends on this role, so the ARN cannot name it; an autoscaling:ResourceTag/flowq:nat condition limits CompleteLifecycleAction to this stack's NAT group."},
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::*"},
			reason: "autoscaling:DescribeAutoScalingInstances supports no resource-level permissions; it is read-only and the only action on \"*\"."},
	},
	"NATRouteFunctionRole": {
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*"},
			reason: "The new NAT instance's interface is unknown until it launches; ModifyNetworkInterfaceAttribute is limited by an ec2:Vpc condition to this VPC, AssociateAddress to this stack's Elastic IP."},
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::*"},
			reason: "ec2:DescribeInstances and ec2:DescribeRouteTables support no resource-level permissions; they are read-only and the only actions on \"*\"."},
	},
}

var vpc3 = suppression{id: "AwsSolutions-VPC3", reason: "Network ACLs are a seed requirement, kept as defence in depth under the security groups: seed 001's public, private and database tables with their rule numbers, and the database tier's 'no egress except responses' in every preset."}

var pipelineSuppressions = map[string][]suppression{
	"IngestDeadLetterQueue": {{id: "AwsSolutions-SQS3", reason: "This queue is the ingest Lambda's on-failure destination, i.e. the dead-letter queue itself; its depth has an alarm."}},
	"IngestFunctionPolicy": {{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::<" + LakeBucketID + ".Arn>/" + LakePrefix + "/*"},
		reason: "The Lambda stages each source's Parquet objects under flows/_flowq/, copies them to generated hourly keys under flows/ and deletes the staged copies (internal/store); the grant is Get/Put/DeleteObject on the lake prefix only, and TestLeastPrivilege checks each action against the code's calls."},
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::*"},
			reason: "ec2:DescribeNetworkInterfaces (read-only: names in alerts for interfaces the lake's inventory lacks) supports no resource-level permissions; it is the only action on \"*\"."}},
}

var s3FlowLogVPC7 = suppression{id: "AwsSolutions-VPC7", reason: "With S3 delivery (the default) the VPC's flow log is turned on by the pipeline stack, next to the bucket it writes to and the collector that reads it, not by the network stack."}

// flowLogObjectsIAM5 accepts the ingest Lambda's read of the flow-log bucket's
// objects in the stack's region (S3 delivery).
func flowLogObjectsIAM5(region string) suppression {
	return suppression{id: "AwsSolutions-IAM5",
		appliesTo: []string{`Resource::arn:<AWS::Partition>:s3:::flowq-flowlogs-{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"AWS::StackId"}]}]}/AWSLogs/<AWS::AccountId>/vpcflowlogs/` + region + `/*`},
		reason:    "S3 delivery: AWS names each flow-log object itself (AWSLogs/<account>/vpcflowlogs/<region>/<date>/<hour>/...); the Lambda may only s3:GetObject under this region's prefix of the flow-log bucket (and list that prefix, for the collector), nothing else of it."}
}

func suppressNetwork(n *NetworkStack, cfg Config) {
	applySuppressions(n.Stack, networkSuppressions)
	if cfg.Pipeline.FlowLogDestination == FlowLogToS3 {
		suppress(n.VPC, false, s3FlowLogVPC7)
	}
	cdknag.NagSuppressions_AddStackSuppressions(n.Stack, &[]*cdknag.NagPackSuppression{{Id: jsii.String(vpc3.id), Reason: jsii.String(vpc3.reason)}}, nil)
}

func suppressPipeline(p *PipelineStack) {
	applySuppressions(p.Stack, pipelineSuppressions)
	if p.FlowLogBucket != nil {
		suppress(p.policy, true, flowLogObjectsIAM5(*p.Region()))
	}
}

func applySuppressions(stack constructs.Construct, all map[string][]suppression) {
	for path, ss := range all {
		c := stack.Node().TryFindChild(jsii.String(path))
		if c == nil {
			continue // the preset has no such resource
		}
		suppress(c, true, ss...)
	}
}

// anys is the []any that list-typed L1 properties take.
func anys(ss ...*string) *[]any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return &out
}
