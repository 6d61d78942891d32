package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// The scheduled inventory sync (cmd/inventory-lambda): every -c inventoryMinutes
// it reads the VPC's network configuration through the EC2 API and stores a
// snapshot in the lake, which the ingest Lambda re-reads for names in alerts,
// NAT attribution and the policy detector.
const (
	InventoryLambdaPackage = "./cmd/inventory-lambda"
	InventoryFunctionID    = "InventoryFunction"
	InventoryLogGroupID    = "InventoryFunctionLogGroup"
	InventoryRoleID        = "InventoryFunctionRole"
	InventoryScheduleID    = "InventorySchedule"
	InventoryOnDeployID    = "InventoryOnDeploy"
	InventoryErrorsAlarmID = "InventoryErrorsAlarm"
	// DefaultInventoryMinutes is -c inventoryMinutes's default with a real-time
	// destination; with the collector it follows -c collectMinutes
	// (defaultInventoryMinutes).
	DefaultInventoryMinutes = 15
	// InventoryMemoryMB: the sync waits on EC2 and S3 (CPU is a few ms), and a
	// Lambda's price is its memory times its time: 256 MB holds the snapshot of
	// 10,000 interfaces (3 MB of JSON) several times over.
	InventoryMemoryMB = 256
	// InventoryMetaPrefix is where the snapshots live in the lake bucket: the
	// lake's metadata objects (internal/store PutMeta) under inventory/
	// (internal/inventory MetaName).
	InventoryMetaPrefix = LakePrefix + "/_flowq/meta/inventory/"
)

// InventoryEC2Actions are the EC2 API calls of internal/inventory/ec2sync's Sync
// (its EC2 interface), all read-only; TestLeastPrivilege checks them against the
// code's calls.
var InventoryEC2Actions = []string{
	"ec2:DescribeInstances", "ec2:DescribeManagedPrefixLists", "ec2:DescribeNatGateways",
	"ec2:DescribeNetworkAcls", "ec2:DescribeNetworkInterfaces", "ec2:DescribePrefixLists",
	"ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
	"ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs", "ec2:GetManagedPrefixListEntries",
}

// validateInventoryMinutes: EventBridge's rate is a whole number of minutes, at
// least one; more than a day leaves the snapshot staler than flows are late.
func validateInventoryMinutes(n int) error {
	if n < 1 || n > 1440 {
		return fmt.Errorf("inventoryMinutes: want 1 to 1440 minutes between inventory syncs, got %d", n)
	}
	return nil
}

var inventorySuppressions = map[string][]suppression{
	InventoryRoleID: {
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::*"},
			reason: "The inventory sync's EC2 Describe* calls (and GetManagedPrefixListEntries, for any prefix list a rule names) are read-only and support no resource-level permissions worth naming; they are the only actions on \"*\"."},
		{id: "AwsSolutions-IAM5", appliesTo: []string{"Resource::<" + LakeBucketID + ".Arn>/" + InventoryMetaPrefix + "*"},
			reason: "Each snapshot is a new object named by its time under the lake's flows/_flowq/meta/inventory/ prefix; the role may only Put/GetObject there (and list that prefix), nothing else of the lake."},
	},
}

// declaredIAM5 accepts the inventory sync's read of the declared rules: one
// parameter per security group and network ACL under the deployment's path.
func declaredIAM5(cfg Config) suppression {
	return suppression{id: "AwsSolutions-IAM5",
		appliesTo: []string{"Resource::arn:<AWS::Partition>:ssm:" + cfg.Region + ":<AWS::AccountId>:parameter" + DeclaredPath(cfg) + "/*"},
		reason:    "The network stack publishes one SSM parameter per security group and network ACL under this deployment's declared path (named by logical ID); the inventory sync may only GetParametersByPath under that path, to compare them with the live rules."}
}

// newInventoryFunction adds the scheduled inventory sync: the function, its
// KMS-encrypted log group, a role with exactly the EC2 reads of the sync and
// the lake's inventory prefix, the EventBridge schedule and an errors alarm.
// vpcID nil syncs every VPC of the region (-c flowLogGroup).
func (s *PipelineStack) newInventoryFunction(cfg Config, code awslambda.Code, vpcID *string) {
	stack := s.Stack
	minutes := cfg.Pipeline.InventoryMinutes
	logs := awslogs.NewLogGroup(stack, jsii.String(InventoryLogGroupID), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		EncryptionKey: LogKey(stack),
	})
	pin(logs, InventoryLogGroupID)
	statements := []*awsiam.PolicyStatementProps{
		{Sid: jsii.String("Logs"), Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"), Resources: &[]*string{logs.LogGroupArn()}},
		{Sid: jsii.String("Network"), Actions: jsii.Strings(InventoryEC2Actions...), Resources: jsii.Strings("*")},
		{Sid: jsii.String("Snapshots"), Actions: jsii.Strings("s3:GetObject", "s3:PutObject"),
			Resources: &[]*string{s.LakeBucket.ArnForObjects(jsii.String(InventoryMetaPrefix + "*"))}},
		{Sid: jsii.String("SnapshotList"), Actions: jsii.Strings("s3:ListBucket"), Resources: &[]*string{s.LakeBucket.BucketArn()},
			Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{InventoryMetaPrefix + "*"}}}},
		// Drift alerts go to the alert topic (KMS-encrypted: SNS encrypts with the caller's rights).
		{Sid: jsii.String("DriftAlerts"), Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{s.Topic.TopicArn()}},
		{Sid: jsii.String("AlertKey"), Actions: jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"), Resources: &[]*string{s.AlertKey.KeyArn()}},
	}
	env := map[string]*string{
		"FLOWQ_LAKE":            jsii.String("s3://" + *s.LakeBucket.BucketName() + "/" + LakePrefix),
		"FLOWQ_ALERT_TOPIC_ARN": s.Topic.TopicArn(),
	}
	if cfg.DeploysNetwork() {
		// The rules the network stack declares (declared.go), compared with each
		// snapshot's live rules.
		path := DeclaredPath(cfg)
		param := "arn:" + *stack.Partition() + ":ssm:" + *stack.Region() + ":" + *stack.Account() + ":parameter" + path
		statements = append(statements, &awsiam.PolicyStatementProps{Sid: jsii.String("Declared"),
			Actions: jsii.Strings("ssm:GetParametersByPath"), Resources: jsii.Strings(param, param+"/*")})
		env["FLOWQ_DECLARED_PATH"] = jsii.String(path)
	}
	var sts []awsiam.PolicyStatement
	for _, st := range statements {
		sts = append(sts, awsiam.NewPolicyStatement(st))
	}
	role := awsiam.NewRole(stack, jsii.String(InventoryRoleID), &awsiam.RoleProps{
		Description: jsii.String("flowq inventory sync: read the VPC's configuration, store snapshots in the lake"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"inventory": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &sts,
		})},
	})
	pin(role, InventoryRoleID)
	if vpcID != nil {
		env["FLOWQ_VPC_ID"] = vpcID
	}
	fn := awslambda.NewFunction(stack, jsii.String(InventoryFunctionID), &awslambda.FunctionProps{
		Description:  jsii.String("flowq: inventory snapshot of the VPC's network configuration into the lake"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		MemorySize:   jsii.Number(InventoryMemoryMB),
		Timeout:      awscdk.Duration_Minutes(jsii.Number(5)),
		Role:         role,
		LogGroup:     logs,
		Environment:  &env,
	})
	pin(fn, InventoryFunctionID)
	// The role's policy is inline: Fn::GetAtt already orders the function after it
	// (as for the NAT hook; cfn-lint W3005).
	fn.Node().DefaultChild().(awscdk.CfnResource).AddDeletionOverride(jsii.String("DependsOn"))
	rule := awsevents.NewRule(stack, jsii.String(InventoryScheduleID), &awsevents.RuleProps{
		Description: jsii.String(fmt.Sprintf("flowq inventory sync every %d minutes (-c inventoryMinutes)", minutes)),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(float64(minutes)))),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(float64(minutes))),
	}))
	pin(rule, InventoryScheduleID)
	s.syncAfterDeploy(cfg, fn)

	action := awscloudwatchactions.NewSnsAction(s.Topic)
	al := awscloudwatch.NewAlarm(stack, jsii.String(InventoryErrorsAlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("flowq inventory sync failed: alerts name resources and judge policy from an older snapshot (see the function's log)"),
		Metric: fn.MetricErrors(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(float64(max(minutes, 5)))), Statistic: jsii.String("Sum"),
		}),
		Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	pin(al, InventoryErrorsAlarmID)
	al.AddAlarmAction(action)
	al.AddOkAction(action)
	applySuppressions(stack, inventorySuppressions)
	if cfg.DeploysNetwork() {
		suppress(role, true, declaredIAM5(cfg))
	}
	awscdk.NewCfnOutput(stack, jsii.String("InventoryFunctionName"), &awscdk.CfnOutputProps{Value: fn.FunctionName()})
}

// syncAfterDeploy runs the sync when a deployment of the network stack or of
// this stack completes (CloudFormation's stack status events reach EventBridge
// without a trail): the first snapshot is taken right after the install, not at
// the schedule's first run, and rules the code changes are in a snapshot a
// minute later, so the policy detector does not judge the traffic they now
// allow against the rules before, and the drift report compares the declared
// rules and the live ones once both are updated.
func (s *PipelineStack) syncAfterDeploy(cfg Config, fn awslambda.Function) {
	stack := s.Stack
	arn := func(kind string) map[string]any {
		return map[string]any{"prefix": "arn:" + *stack.Partition() + ":cloudformation:" + *stack.Region() + ":" + *stack.Account() +
			":stack/" + cfg.StackID(kind) + "/"}
	}
	stacks := []any{arn("Pipeline")}
	names := cfg.StackID("Pipeline")
	if cfg.DeploysNetwork() {
		stacks = append(stacks, arn("Network"))
		names += " and " + cfg.StackID("Network")
	}
	rule := awsevents.NewRule(stack, jsii.String(InventoryOnDeployID), &awsevents.RuleProps{
		Description: jsii.String("flowq inventory sync after each deployment of " + names),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.cloudformation"),
			DetailType: jsii.Strings("CloudFormation Stack Status Change"),
			Detail: &map[string]any{
				"stack-id":       stacks,
				"status-details": map[string]any{"status": []string{"CREATE_COMPLETE", "UPDATE_COMPLETE"}},
			},
		},
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Hours(jsii.Number(1)),
	}))
	pin(rule, InventoryOnDeployID)
}
