package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
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
	// FlowLogGroup is the network stack's flow-log group, the subscription source.
	FlowLogGroup awslogs.ILogGroup
	// LambdaCode is the ingest Lambda's bundle (a directory holding `bootstrap`);
	// see BuildIngestLambda.
	LambdaCode awslambda.Code
}

// PipelineStack is the lake, the alert topic, the state table and the ingest Lambda.
type PipelineStack struct {
	awscdk.Stack
	LakeBucket awss3.Bucket
	Topic      awssns.Topic
	StateTable awsdynamodb.Table
	Function   awslambda.Function
	DLQ        awssqs.Queue
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

// GlueDatabaseName is the Glue database of a preset. Athena queries name it, so it
// is a fixed name (Glue names must be lower case, without hyphens), unlike every
// other resource of the app.
func GlueDatabaseName(p Preset) string { return "flowq_" + p.Name }

// NewPipelineStack builds the flowq pipeline: CloudWatch Logs subscription → ingest
// Lambda → Parquet lake in S3 + alerts on SNS, with DynamoDB state, an SQS
// on-failure destination, alarms and a Glue table over the lake.
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

	// On-failure destination for asynchronous invocations.
	s.DLQ = awssqs.NewQueue(stack, jsii.String(DeadLetterQueueID), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	pin(s.DLQ, DeadLetterQueueID)

	// The ingest Lambda, with a role that holds exactly what it calls.
	fnLogs := awslogs.NewLogGroup(stack, jsii.String(IngestLogGroupID), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	pin(fnLogs, IngestLogGroupID)
	role := awsiam.NewRole(stack, jsii.String("IngestFunctionRole"), &awsiam.RoleProps{
		Description: jsii.String("flowq ingest Lambda"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	lakeObjects := s.LakeBucket.ArnForObjects(jsii.String(LakePrefix + "/*"))
	statements := []*awsiam.PolicyStatementProps{
		{Sid: jsii.String("Logs"), Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"), Resources: &[]*string{fnLogs.LogGroupArn()}},
		{Sid: jsii.String("LakeObjects"), Actions: jsii.Strings("s3:GetObject", "s3:PutObject"), Resources: &[]*string{lakeObjects}},
		{Sid: jsii.String("LakeList"), Actions: jsii.Strings("s3:ListBucket"), Resources: &[]*string{s.LakeBucket.BucketArn()},
			Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{LakePrefix, LakePrefix + "/*"}}}},
		{Sid: jsii.String("Alerts"), Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{s.Topic.TopicArn()}},
		{Sid: jsii.String("AlertKey"), Actions: jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"), Resources: &[]*string{key.KeyArn()}},
		{Sid: jsii.String("State"), Actions: jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), Resources: &[]*string{s.StateTable.TableArn()}},
		{Sid: jsii.String("OnFailure"), Actions: jsii.Strings("sqs:SendMessage"), Resources: &[]*string{s.DLQ.QueueArn()}},
	}
	policy := awsiam.NewPolicy(stack, jsii.String("IngestFunctionPolicy"), &awsiam.PolicyProps{Roles: &[]awsiam.IRole{role}})
	for _, st := range statements {
		policy.AddStatements(awsiam.NewPolicyStatement(st))
	}

	s.Function = awslambda.NewFunction(stack, jsii.String(IngestFunctionID), &awslambda.FunctionProps{
		Description:  jsii.String("flowq: VPC flow logs from CloudWatch Logs to Parquet and alerts"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         props.LambdaCode,
		MemorySize:   jsii.Number(512),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(120)),
		Role:         role,
		LogGroup:     fnLogs,
		Environment: &map[string]*string{
			"FLOWQ_LAKE":            jsii.String("s3://" + *s.LakeBucket.BucketName() + "/" + LakePrefix),
			"FLOWQ_LOG_FORMAT":      jsii.String(FlowLogFormat),
			"FLOWQ_ALERT_TOPIC_ARN": s.Topic.TopicArn(),
			"FLOWQ_STATE_TABLE":     s.StateTable.TableName(),
			"FLOWQ_WATCH_CIDRS":     jsii.String(DetectWatchCIDRs),
			"FLOWQ_EXFIL_BYTES":     jsii.String(DetectExfilBytes),
			"FLOWQ_WINDOW":          jsii.String(DetectWindow),
		},
	})
	pin(policy, IngestPolicyID)
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
	invokeConfig.Node().AddDependency(policy)

	// Subscription from the flow-log group.
	perm := awslambda.NewCfnPermission(stack, jsii.String("IngestFromFlowLogs"), &awslambda.CfnPermissionProps{
		Action: jsii.String("lambda:InvokeFunction"), FunctionName: s.Function.FunctionArn(),
		Principal: jsii.String("logs.amazonaws.com"), SourceArn: props.FlowLogGroup.LogGroupArn(),
		SourceAccount: stack.Account(),
	})
	sub := awslogs.NewCfnSubscriptionFilter(stack, jsii.String("FlowLogSubscription"), &awslogs.CfnSubscriptionFilterProps{
		LogGroupName: props.FlowLogGroup.LogGroupName(), FilterPattern: jsii.String(""),
		DestinationArn: s.Function.FunctionArn(),
	})
	sub.Node().AddDependency(perm)

	// Alarms → the alert topic.
	action := awscloudwatchactions.NewSnsAction(s.Topic)
	errs := awscloudwatch.NewAlarm(stack, jsii.String("IngestErrorsAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("flowq ingest Lambda returned errors (Lambda retries; the DLQ holds what failed 3 times)"),
		Metric: s.Function.MetricErrors(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
		}),
		Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	errs.AddAlarmAction(action)
	dlq := awscloudwatch.NewAlarm(stack, jsii.String("DeadLetterDepthAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("flow-log batches failed ingestion and wait in the on-failure queue"),
		Metric: s.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
		}),
		Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	dlq.AddAlarmAction(action)

	newGlueTable(stack, cfg, s.LakeBucket)

	awscdk.NewCfnOutput(stack, jsii.String("LakeURI"), &awscdk.CfnOutputProps{Value: jsii.String("s3://" + *s.LakeBucket.BucketName() + "/" + LakePrefix)})
	awscdk.NewCfnOutput(stack, jsii.String("AlertTopicArn"), &awscdk.CfnOutputProps{Value: s.Topic.TopicArn()})
	awscdk.NewCfnOutput(stack, jsii.String("IngestFunctionName"), &awscdk.CfnOutputProps{Value: s.Function.FunctionName()})
	return s
}

// newGlueTable catalogs the lake for Athena: AWS's flow-log Parquet columns and
// hourly partitions found by projection, so no crawler or MSCK REPAIR is needed.
func newGlueTable(stack awscdk.Stack, cfg Config, lake awss3.Bucket) {
	db := awsglue.NewCfnDatabase(stack, jsii.String("GlueDatabase"), &awsglue.CfnDatabaseProps{
		CatalogId: stack.Account(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(GlueDatabaseName(cfg.Preset)),
			Description: jsii.String("flowq: VPC flow logs lake"),
		},
	})
	var cols []*awsglue.CfnTable_ColumnProperty
	for _, c := range LakeColumns {
		cols = append(cols, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(c.Name), Type: jsii.String(c.Type)})
	}
	var parts []*awsglue.CfnTable_ColumnProperty
	params := map[string]any{
		"classification":     "parquet",
		"projection.enabled": "true",
		"storage.location.template": "s3://" + *lake.BucketName() + "/" + LakePrefix +
			"/year=${year}/month=${month}/day=${day}/hour=${hour}",
	}
	for _, k := range []struct {
		name, rng, digits string
	}{{"year", lakeProjectionYear, "4"}, {"month", "1,12", "2"}, {"day", "1,31", "2"}, {"hour", "0,23", "2"}} {
		parts = append(parts, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(k.name), Type: jsii.String("string")})
		params["projection."+k.name+".type"] = "integer"
		params["projection."+k.name+".range"] = k.rng
		params["projection."+k.name+".digits"] = k.digits
	}
	table := awsglue.NewCfnTable(stack, jsii.String("GlueFlowsTable"), &awsglue.CfnTableProps{
		CatalogId: stack.Account(), DatabaseName: jsii.String(GlueDatabaseName(cfg.Preset)),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:          jsii.String(GlueTableName),
			Description:   jsii.String("VPC flow logs, " + strings.ReplaceAll(FlowLogFormat, "$", "")),
			TableType:     jsii.String("EXTERNAL_TABLE"),
			Parameters:    params,
			PartitionKeys: &parts,
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:      &cols,
				Location:     jsii.String("s3://" + *lake.BucketName() + "/" + LakePrefix + "/"),
				InputFormat:  jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
				OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
					Parameters:           map[string]any{"serialization.format": "1"},
				},
			},
		},
	})
	table.Node().AddDependency(db)
}
