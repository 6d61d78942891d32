package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// Logical IDs of the flow-log delivery resources in the pipeline stack.
const (
	FlowLogBucketID       = "FlowLogBucket"
	FlowLogSubscriptionID = "FlowLogSubscription"
	IngestFromFlowLogsID  = "IngestFromFlowLogs"
	IngestFromS3ID        = "IngestFromFlowLogBucket"
	S3FlowLogID           = "S3FlowLog"
	flowLogObjectDays     = 90
)

// connectFlowLogs feeds the ingest Lambda: with S3 delivery (the default), a flow
// log to a bucket that the scheduled collector reads (or whose object
// notifications invoke it); with CloudWatch Logs, a subscription filter on a
// flow-log group (the network stack's, a given one, or one it creates for
// props.VPCID).
func (s *PipelineStack) connectFlowLogs(cfg Config, props *PipelineStackProps) {
	if cfg.Pipeline.FlowLogDestination == FlowLogToS3 {
		s.deliverToS3(cfg, props.VPCID)
		return
	}
	group := props.FlowLogGroup
	if group == nil && cfg.FlowLogGroup != "" {
		group = awslogs.LogGroup_FromLogGroupName(s.Stack, jsii.String("ExistingFlowLogGroup"), jsii.String(cfg.FlowLogGroup))
	}
	if group == nil {
		if props.VPCID == nil {
			panic("stacks: the pipeline needs a FlowLogGroup or a VPCID") // app wiring, not user input
		}
		group = NewCloudWatchFlowLog(s.Stack, props.VPCID, nil)
	}
	perm := awslambda.NewCfnPermission(s.Stack, jsii.String(IngestFromFlowLogsID), &awslambda.CfnPermissionProps{
		Action: jsii.String("lambda:InvokeFunction"), FunctionName: s.Function.FunctionArn(),
		Principal: jsii.String("logs.amazonaws.com"), SourceArn: group.LogGroupArn(),
		SourceAccount: s.Account(),
	})
	// Every record: exfiltration is about accepted traffic, and the Lambda detects
	// REJECTs itself.
	sub := awslogs.NewCfnSubscriptionFilter(s.Stack, jsii.String(FlowLogSubscriptionID), &awslogs.CfnSubscriptionFilterProps{
		LogGroupName: group.LogGroupName(), FilterPattern: jsii.String(""),
		DestinationArn: s.Function.FunctionArn(),
	})
	sub.Node().AddDependency(perm)
}

// FlowLogObjectSuffix is the name ending of the objects AWS delivers in a format.
func FlowLogObjectSuffix(fileFormat string) string {
	if fileFormat == FlowLogParquet {
		return ".log.parquet"
	}
	return ".log.gz"
}

// deliverToS3 turns on the flow log for vpcID to a new bucket (SSE-S3, TLS only,
// hourly partitions, objects kept 90 days: the lake holds them as Parquet), grants
// the Lambda s3:GetObject on the objects AWS delivers in this region (nothing else
// of the bucket), and feeds it: the scheduled collector (newCollectSchedule), or
// with -c flowLogDestination=s3-notifications the bucket's ObjectCreated
// notifications.
//
// S3 checks a notification's destination when the bucket is created, so the
// Lambda's permission must exist first, and the permission names the bucket: the
// bucket's name is therefore derived from the stack's ID (unique per stack
// instance, so a retained bucket never blocks a new deployment) instead of the
// bucket's own attributes, which would make a cycle. No custom resource is needed.
// The collector's bucket is named the same way, so switching between the two
// keeps the bucket.
func (s *PipelineStack) deliverToS3(cfg Config, vpcID *string) {
	stack := s.Stack
	if vpcID == nil {
		panic("stacks: S3 delivery needs the VPC ID") // app wiring, not user input
	}
	name := awscdk.Fn_Join(jsii.String("-"), &[]*string{
		jsii.String("flowq-flowlogs"),
		awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), stack.StackId(), nil)),
	})
	arn := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), stack.Partition(), jsii.String(":s3:::"), name})
	// Where AWS writes this flow log's objects: AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/HH/.
	prefix := jsii.String("AWSLogs/" + *stack.Account() + "/vpcflowlogs/" + *stack.Region() + "/")

	var perm awslambda.CfnPermission
	if cfg.Pipeline.S3Notifications {
		perm = awslambda.NewCfnPermission(stack, jsii.String(IngestFromS3ID), &awslambda.CfnPermissionProps{
			Action: jsii.String("lambda:InvokeFunction"), FunctionName: s.Function.FunctionArn(),
			Principal: jsii.String("s3.amazonaws.com"), SourceArn: arn, SourceAccount: stack.Account(),
		})
	}
	bucket := awss3.NewBucket(stack, jsii.String(FlowLogBucketID), &awss3.BucketProps{
		BucketName: name,
		Encryption: awss3.BucketEncryption_S3_MANAGED, EnforceSSL: jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		ServerAccessLogsBucket: s.accessLogs, ServerAccessLogsPrefix: jsii.String("flowlogs/"),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("expire-ingested-flow-logs"), Expiration: awscdk.Duration_Days(jsii.Number(flowLogObjectDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	pin(bucket, FlowLogBucketID)
	cfn := bucket.Node().DefaultChild().(awss3.CfnBucket)
	if perm != nil {
		cfn.SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{
			LambdaConfigurations: &[]*awss3.CfnBucket_LambdaConfigurationProperty{{
				Event: jsii.String("s3:ObjectCreated:*"), Function: s.Function.FunctionArn(),
				Filter: &awss3.CfnBucket_NotificationFilterProperty{S3Key: &awss3.CfnBucket_S3KeyFilterProperty{
					Rules: &[]*awss3.CfnBucket_FilterRuleProperty{
						{Name: jsii.String("prefix"), Value: prefix},
						{Name: jsii.String("suffix"), Value: jsii.String(FlowLogObjectSuffix(cfg.Pipeline.FlowLogFileFormat))},
					},
				}},
			}},
		})
		cfn.AddDependency(perm)
	}
	s.FlowLogBucket = cfn

	// The log-delivery service's access, as AWS documents it for flow logs to S3.
	delivery := awsiam.NewServicePrincipal(jsii.String("delivery.logs.amazonaws.com"), nil)
	source := map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
		"ArnLike":      map[string]any{"aws:SourceArn": "arn:" + *stack.Partition() + ":logs:" + *stack.Region() + ":" + *stack.Account() + ":*"},
	}
	write := map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": stack.Account(), "s3:x-amz-acl": "bucket-owner-full-control"},
		"ArnLike":      source["ArnLike"],
	}
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("AWSLogDeliveryWrite"), Principals: &[]awsiam.IPrincipal{delivery},
		Actions: jsii.Strings("s3:PutObject"), Resources: &[]*string{bucket.ArnForObjects(jsii.String("AWSLogs/" + *stack.Account() + "/*"))},
		Conditions: &write,
	}))
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("AWSLogDeliveryAclCheck"), Principals: &[]awsiam.IPrincipal{delivery},
		Actions: jsii.Strings("s3:GetBucketAcl"), Resources: &[]*string{bucket.BucketArn()},
		Conditions: &source,
	}))

	s.policy.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("FlowLogObjects"), Actions: jsii.Strings("s3:GetObject"),
		// The computed ARN, not the bucket's attribute: the function's policy must not
		// wait for the bucket, which waits for the function.
		Resources: &[]*string{jsii.String(*arn + "/" + *prefix + "*")},
	}))
	if cfg.Pipeline.Collects() {
		s.newCollectSchedule(cfg, name, arn, prefix)
	}

	// The reference network's name for its flow log, as the CloudWatch Logs one has.
	var tags *[]*awscdk.CfnTag
	if cfg.DeploysNetwork() {
		tags = &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(cfg.Preset.Tag("vpc-flow-logs"))}}
	}
	fl := awsec2.NewCfnFlowLog(stack, jsii.String(S3FlowLogID), &awsec2.CfnFlowLogProps{
		ResourceId: vpcID, ResourceType: jsii.String("VPC"), TrafficType: jsii.String("ALL"),
		LogDestinationType: jsii.String(FlowLogToS3), LogDestination: bucket.BucketArn(),
		LogFormat: jsii.String(FlowLogFormat), MaxAggregationInterval: jsii.Number(600),
		DestinationOptions: map[string]any{
			"FileFormat": cfg.Pipeline.FlowLogFileFormat, "HiveCompatiblePartitions": false, "PerHourPartition": true,
		},
		Tags: tags,
	})
	fl.Node().AddDependency(bucket.Policy())
	awscdk.NewCfnOutput(stack, jsii.String("FlowLogBucketName"), &awscdk.CfnOutputProps{Value: bucket.BucketName()})
}
