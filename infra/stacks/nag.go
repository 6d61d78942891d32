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
	"NATAutoScalingGroup": {{id: "AwsSolutions-AS3", reason: "The NAT group is fixed at 1/1 with EC2 health checks (seed 001); its only scaling events are replacements, which re-attach the route ENI by themselves and show in the group's activity history and CloudTrail."}},
	"NATInstanceRole": {
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*"},
			reason: "The group's future instance IDs cannot be known; the statements are limited by an aws:ResourceTag/flowq:nat condition to the instances this preset's NAT launch template tags."},
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::*"},
			reason: "ec2:DescribeNetworkInterfaces supports no resource-level permissions; it is read-only and the only action on \"*\"."},
	},
}

var vpc3 = suppression{id: "AwsSolutions-VPC3", reason: "Network ACLs are a seed requirement, kept as defence in depth under the security groups: seed 001's public, private and database tables with their rule numbers, and the database tier's 'no egress except responses' in every preset."}

var pipelineSuppressions = map[string][]suppression{
	"IngestDeadLetterQueue": {{id: "AwsSolutions-SQS3", reason: "This queue is the ingest Lambda's on-failure destination, i.e. the dead-letter queue itself; its depth has an alarm."}},
	"IngestFunctionPolicy": {{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::<" + LakeBucketID + ".Arn>/" + LakePrefix + "/*"},
		reason: "The Lambda writes and reads Parquet objects with generated hourly keys under the lake prefix flows/; the grant is only s3:GetObject/PutObject on that prefix (no delete)."}},
}

func suppressNetwork(n *NetworkStack, cfg Config) {
	applySuppressions(n.Stack, networkSuppressions)
	cdknag.NagSuppressions_AddStackSuppressions(n.Stack, &[]*cdknag.NagPackSuppression{{Id: jsii.String(vpc3.id), Reason: jsii.String(vpc3.reason)}}, nil)
}

func suppressPipeline(p *PipelineStack) { applySuppressions(p.Stack, pipelineSuppressions) }

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
