package stacks

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// PipelineStackProps configures the flow-log pipeline.
type PipelineStackProps struct {
	awscdk.StackProps
	Config Config
	// FlowLogGroup is the log group to subscribe the Lambda to: the network stack's,
	// or a group of an existing flow log (-c flowLogGroup). Nil: the pipeline turns on
	// the flow log for VPCID itself (always so with S3 delivery).
	FlowLogGroup awslogs.ILogGroup
	// VPCID is the VPC whose flow log the pipeline creates when FlowLogGroup is nil.
	VPCID *string
	// LambdaCode is the ingest Lambda's bundle (a directory holding `bootstrap`);
	// see BuildIngestLambda.
	LambdaCode awslambda.Code
	// InventoryCode is the inventory sync's bundle (cmd/inventory-lambda).
	InventoryCode awslambda.Code
}

// PipelineStack is the lake, the alert topic, the state table and the ingest Lambda.
type PipelineStack struct {
	awscdk.Stack
	LakeBucket    awss3.Bucket
	Topic         awssns.Topic
	AlertKey      awskms.Key // the topic's key
	StateTable    awsdynamodb.Table
	Function      awslambda.Function
	DLQ           awssqs.Queue
	FlowLogBucket awss3.CfnBucket // S3 delivery only
	policy        awsiam.Policy   // the Lambda's policy; delivery adds its read grant
	accessLogs    awss3.Bucket    // server access logs of the stack's buckets
	fnLogs        awslogs.LogGroup
	copyMetrics   map[string]awscloudwatch.Metric // see copyMetric
}

// Pinned logical IDs of the pipeline's stateful resources.
const (
	LakeBucketID       = "LakeBucket"
	LakeAccessLogsID   = "LakeAccessLogBucket"
	AlertTopicID       = "AlertTopic"
	AlertKeyID         = "AlertTopicKey"
	StateTableID       = "StateTable"
	DeadLetterQueueID  = "IngestDeadLetterQueue"
	IngestFunctionID   = "IngestFunction"
	IngestLogGroupID   = "IngestFunctionLogGroup"
	IngestPolicyID     = "IngestFunctionPolicy"
	LakePrefix         = "flows"
	GlueTableName      = "flows"
	DetectWatchCIDRs   = "10.0.0.0/16"
	DetectExfilBytes   = "1000000"
	DetectWindow       = "1h"
	lakeProjectionYear = "2024,2099"
)

// GlueDatabaseName is the Glue database of a deployment. Athena queries name it, so
// it is a fixed name (Glue names must be lower case, without hyphens), unlike every
// other resource of the app: flowq_<preset>, or flowq_<preset>_<env> with -c env.
func GlueDatabaseName(cfg Config) string {
	if cfg.Env != "" {
		return "flowq_" + cfg.Preset.Name + "_" + cfg.Env
	}
	return "flowq_" + cfg.Preset.Name
}

// NewPipelineStack builds the flowq pipeline: flow logs (S3 delivery read by the
// scheduled collector, S3 notifications, or a CloudWatch Logs subscription) →
// ingest Lambda → Parquet lake in S3 + alerts on SNS, with DynamoDB state (the
// collector's alert ledger), an SQS on-failure destination, alarms, a dashboard,
// and a Glue table and Athena workgroup over the lake.
func NewPipelineStack(scope constructs.Construct, id string, props *PipelineStackProps) *PipelineStack {
	cfg := props.Config
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &PipelineStack{Stack: stack}

	// The lake and the bucket that receives its server access logs.
	accessLogs := awss3.NewBucket(stack, jsii.String(LakeAccessLogsID), &awss3.BucketProps{
		Encryption: awss3.BucketEncryption_S3_MANAGED, EnforceSSL: jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("expire-access-logs"), Expiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
	})
	pin(accessLogs, LakeAccessLogsID)
	s.accessLogs = accessLogs
	s.LakeBucket = awss3.NewBucket(stack, jsii.String(LakeBucketID), &awss3.BucketProps{
		Encryption: awss3.BucketEncryption_S3_MANAGED, EnforceSSL: jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		ServerAccessLogsBucket: accessLogs, ServerAccessLogsPrefix: jsii.String("lake/"),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("age-out-flows"), Prefix: jsii.String(LakePrefix + "/"),
			Transitions: &[]*awss3.Transition{{
				StorageClass:    awss3.StorageClass_INTELLIGENT_TIERING(),
				TransitionAfter: awscdk.Duration_Days(jsii.Number(30)),
			}},
			Expiration:                          awscdk.Duration_Days(jsii.Number(400)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	pin(s.LakeBucket, LakeBucketID)

	// Alert topic, encrypted with a customer key that CloudWatch alarms may use.
	key := awskms.NewKey(stack, jsii.String(AlertKeyID), &awskms.KeyProps{
		Description:       jsii.String("flowq alert topic encryption"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	pin(key, AlertKeyID)
	s.AlertKey = key
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"), // in a key policy "*" is this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}},
	}), jsii.Bool(false))
	s.Topic = awssns.NewTopic(stack, jsii.String(AlertTopicID), &awssns.TopicProps{
		MasterKey: key, EnforceSSL: jsii.Bool(true),
	})
	pin(s.Topic, AlertTopicID)
	allowAlarmsToPublish(stack, s.Topic)
	if cfg.AlertEmail != "" {
		s.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlertEmail), nil))
	}

	// Detector state.
	s.StateTable = awsdynamodb.NewTable(stack, jsii.String(StateTableID), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	pin(s.StateTable, StateTableID)

	// On-failure destination for asynchronous invocations: what it holds is flow
	// logs not yet in the lake, so it outlives the stack.
	s.DLQ = awssqs.NewQueue(stack, jsii.String(DeadLetterQueueID), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   awscdk.RemovalPolicy_RETAIN,
	})
	pin(s.DLQ, DeadLetterQueueID)

	s.newIngestFunction(cfg, props.LambdaCode, key)
	s.newInventoryFunction(cfg, props.InventoryCode, props.VPCID)
	s.connectFlowLogs(cfg, props)
	newAlarms(s, cfg)
	newDashboard(s, cfg)
	newGlueTable(stack, cfg, s.LakeBucket)
	newAthenaWorkgroup(stack, cfg, accessLogs)

	awscdk.NewCfnOutput(stack, jsii.String("LakeURI"), &awscdk.CfnOutputProps{Value: jsii.String("s3://" + *s.LakeBucket.BucketName() + "/" + LakePrefix)})
	awscdk.NewCfnOutput(stack, jsii.String("AlertTopicArn"), &awscdk.CfnOutputProps{Value: s.Topic.TopicArn()})
	awscdk.NewCfnOutput(stack, jsii.String("IngestFunctionName"), &awscdk.CfnOutputProps{Value: s.Function.FunctionName()})
	awscdk.NewCfnOutput(stack, jsii.String("GlueDatabaseName"), &awscdk.CfnOutputProps{Value: jsii.String(GlueDatabaseName(cfg))})
	return s
}

// newIngestFunction adds the ingest Lambda, with a role that holds exactly what its
// code calls (TestLeastPrivilege compares them), its KMS-encrypted log group and its
// asynchronous-invocation settings.
func (s *PipelineStack) newIngestFunction(cfg Config, code awslambda.Code, alertKey awskms.Key) {
	stack := s.Stack
	fnLogs := awslogs.NewLogGroup(stack, jsii.String(IngestLogGroupID), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		EncryptionKey: LogKey(stack),
	})
	pin(fnLogs, IngestLogGroupID)
	s.fnLogs = fnLogs
	role := awsiam.NewRole(stack, jsii.String("IngestFunctionRole"), &awsiam.RoleProps{
		Description: jsii.String("flowq ingest Lambda"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	statements := []*awsiam.PolicyStatementProps{
		{Sid: jsii.String("Logs"), Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"), Resources: &[]*string{fnLogs.LogGroupArn()}},
		// The lake's writer stages each source under flows/_flowq/, then copies it into
		// its partitions and deletes the staged objects (internal/store).
		{Sid: jsii.String("LakeObjects"), Actions: jsii.Strings("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
			Resources: &[]*string{s.LakeBucket.ArnForObjects(jsii.String(LakePrefix + "/*"))}},
		{Sid: jsii.String("LakeList"), Actions: jsii.Strings("s3:ListBucket"), Resources: &[]*string{s.LakeBucket.BucketArn()},
			Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{LakePrefix, LakePrefix + "/*"}}}},
		{Sid: jsii.String("Alerts"), Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{s.Topic.TopicArn()}},
		{Sid: jsii.String("AlertKey"), Actions: jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"), Resources: &[]*string{alertKey.KeyArn()}},
		{Sid: jsii.String("State"), Actions: jsii.Strings("dynamodb:GetItem", "dynamodb:UpdateItem"), Resources: &[]*string{s.StateTable.TableArn()}},
		{Sid: jsii.String("OnFailure"), Actions: jsii.Strings("sqs:SendMessage"), Resources: &[]*string{s.DLQ.QueueArn()}},
		// Names in alerts for interfaces the lake's inventory snapshots lack (one call
		// per interface; internal/inventory/ec2query). Read-only; EC2's Describe
		// actions support no resource-level permissions.
		{Sid: jsii.String("Interfaces"), Actions: jsii.Strings("ec2:DescribeNetworkInterfaces"), Resources: jsii.Strings("*")},
	}
	s.policy = awsiam.NewPolicy(stack, jsii.String(IngestPolicyID), &awsiam.PolicyProps{Roles: &[]awsiam.IRole{role}})
	for _, st := range statements {
		s.policy.AddStatements(awsiam.NewPolicyStatement(st))
	}

	env := map[string]*string{
		"FLOWQ_LAKE":            jsii.String("s3://" + *s.LakeBucket.BucketName() + "/" + LakePrefix),
		"FLOWQ_LOG_FORMAT":      jsii.String(cfg.readFormat()),
		"FLOWQ_ALERT_TOPIC_ARN": s.Topic.TopicArn(),
		"FLOWQ_STATE_TABLE":     s.StateTable.TableName(),
		// The inventory snapshots are re-read as often as the schedule writes them.
		"FLOWQ_INVENTORY_MINUTES": jsii.String(strconv.Itoa(cfg.Pipeline.InventoryMinutes)),
	}
	if cfg.Pipeline.DetectConfig != "" {
		// The detection configuration document itself (validated at synth).
		env["FLOWQ_CONFIG"] = jsii.String(cfg.Pipeline.DetectConfig)
	} else {
		env["FLOWQ_WATCH_CIDRS"] = jsii.String(DetectWatchCIDRs)
		env["FLOWQ_EXFIL_BYTES"] = jsii.String(DetectExfilBytes)
		env["FLOWQ_WINDOW"] = jsii.String(DetectWindow)
	}
	// A delivery is one log batch or object; a collector run reads a whole slot.
	timeout := awscdk.Duration_Seconds(jsii.Number(120))
	if cfg.Pipeline.Collects() {
		timeout = awscdk.Duration_Minutes(jsii.Number(float64(collectTimeoutMinutes(cfg.Pipeline.CollectMinutes))))
	}
	s.Function = awslambda.NewFunction(stack, jsii.String(IngestFunctionID), &awslambda.FunctionProps{
		Description:  jsii.String("flowq: VPC flow logs to Parquet and alerts"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		MemorySize:   jsii.Number(512),
		Timeout:      timeout,
		Role:         role,
		LogGroup:     fnLogs,
		Environment:  &env,
	})
	pin(s.policy, IngestPolicyID)
	pin(s.Function, IngestFunctionID)
	// The function needs its policy in place before its first invocation. The
	// role's dependency that the L2 adds is already implied by Fn::GetAtt.
	s.Function.Node().DefaultChild().(awscdk.CfnResource).AddOverride(jsii.String("DependsOn"), []string{IngestPolicyID})

	invokeConfig := awslambda.NewCfnEventInvokeConfig(stack, jsii.String("IngestInvokeConfig"), &awslambda.CfnEventInvokeConfigProps{
		FunctionName: s.Function.FunctionName(), Qualifier: jsii.String("$LATEST"),
		MaximumRetryAttempts: jsii.Number(2), MaximumEventAgeInSeconds: jsii.Number(6 * 3600),
		DestinationConfig: &awslambda.CfnEventInvokeConfig_DestinationConfigProperty{
			OnFailure: &awslambda.CfnEventInvokeConfig_OnFailureProperty{Destination: s.DLQ.QueueArn()},
		},
	})
	invokeConfig.Node().AddDependency(s.policy)
}
