package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// FlowLogFormat is the one definition of the VPC flow-log record format: it is set
// as the flow log's LogFormat and passed to the ingest Lambda as FLOWQ_LOG_FORMAT.
// It is every field of versions 2 through 5 (seed 000's
// ${windowstart}, ${windowend} and ${tcpflags} are not accepted by AWS).
const FlowLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} " +
	"${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} " +
	"${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} " +
	"${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} " +
	"${flow-direction} ${traffic-path} ${pkt-src-aws-service} ${pkt-dst-aws-service}"

// LakeColumn is one column of the lake's Parquet files and Glue table.
type LakeColumn struct{ Name, Type string }

// LakeColumns are the Glue table's columns: the fields of FlowLogFormat, in its
// order, as AWS's Parquet names them ("-" becomes "_") with AWS's types.
var LakeColumns = mustLakeColumns(FlowLogFormat)

// Athena types of the numeric flow-log fields (versions 2 to 11); every other
// field is a string. AWS's Parquet files hold INT_32 for these ...
var int32Fields = map[string]bool{
	"version": true, "srcport": true, "dstport": true, "protocol": true,
	"tcp-flags": true, "traffic-path": true, "encryption-status": true,
}

// ... and INT_64 for these.
var int64Fields = map[string]bool{
	"packets": true, "bytes": true, "start": true, "end": true,
	"packets-lost-no-route": true, "packets-lost-blackhole": true,
	"packets-lost-mtu-exceeded": true, "packets-lost-ttl-expired": true,
}

// lakeColumns derives the table columns of a ${field} format.
func lakeColumns(format string) ([]LakeColumn, error) {
	var cols []LakeColumn
	seen := map[string]bool{}
	for _, tok := range strings.Fields(format) {
		if !strings.HasPrefix(tok, "${") || !strings.HasSuffix(tok, "}") {
			return nil, fmt.Errorf("flow-log format: %q is not a ${field}", tok)
		}
		f := tok[2 : len(tok)-1]
		if seen[f] {
			return nil, fmt.Errorf("flow-log format: %s twice", tok)
		}
		seen[f] = true
		typ := "string"
		switch {
		case int32Fields[f]:
			typ = "int"
		case int64Fields[f]:
			typ = "bigint"
		}
		cols = append(cols, LakeColumn{Name: strings.ReplaceAll(f, "-", "_"), Type: typ})
	}
	return cols, nil
}

func mustLakeColumns(format string) []LakeColumn {
	cols, err := lakeColumns(format)
	if err != nil {
		panic(err) // FlowLogFormat is a constant: a test covers it
	}
	return cols
}

// Logical IDs of the CloudWatch Logs flow log's resources (FlowLogGroupID is pinned
// in network.go).
const (
	FlowLogRoleID = "FlowLogRole"
	FlowLogID     = "FlowLog"
)

// NewCloudWatchFlowLog turns on flowq's flow log (all traffic, FlowLogFormat,
// 10-minute aggregation) for vpcID, delivering to a new log group that it returns:
// KMS-encrypted, 7 days, retained on stack deletion, logical ID FlowLogGroupID. The
// network stack calls it for a preset's VPC; the pipeline stack for an existing VPC.
func NewCloudWatchFlowLog(stack awscdk.Stack, vpcID *string, tags *[]*awscdk.CfnTag) awslogs.LogGroup {
	group := awslogs.NewLogGroup(stack, jsii.String(FlowLogGroupID), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_WEEK,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		EncryptionKey: LogKey(stack),
	})
	pin(group, FlowLogGroupID)
	role := awsiam.NewRole(stack, jsii.String(FlowLogRoleID), &awsiam.RoleProps{
		Description: jsii.String("lets VPC Flow Logs write to the flow-log group"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("vpc-flow-logs.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}},
		}),
		// The actions AWS documents for flow-log delivery to CloudWatch Logs.
		InlinePolicies: &map[string]awsiam.PolicyDocument{"deliver": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"),
				Resources: &[]*string{group.LogGroupArn()},
			})},
		})},
	})
	awsec2.NewCfnFlowLog(stack, jsii.String(FlowLogID), &awsec2.CfnFlowLogProps{
		ResourceId: vpcID, ResourceType: jsii.String("VPC"), TrafficType: jsii.String("ALL"),
		LogDestinationType: jsii.String(FlowLogToCloudWatch), LogGroupName: group.LogGroupName(),
		DeliverLogsPermissionArn: role.RoleArn(), LogFormat: jsii.String(FlowLogFormat),
		MaxAggregationInterval: jsii.Number(600), Tags: tags,
	})
	return group
}
