package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

// The ingest Lambda's own metrics (Embedded Metric Format, cmd/ingest-lambda/emf.go):
// namespace, dimension and the value of the dimension per delivery.
const (
	MetricsNamespace = "flowq"
	MetricsDimension = "Input"
	LateRecordsName  = "LateRecords"
	// SkippedObjectsName: the collector's count of delivered objects it could not
	// read; SkippedObjectsAlarmID alarms on it.
	SkippedObjectsName    = "Skipped"
	SkippedObjectsAlarmID = "SkippedObjectsAlarm"
	// asyncAgeLimit: an event older than this waits in Lambda's queue (throttled or
	// retried) instead of being ingested; normal is well under a second.
	asyncAgeLimit = 10 * 60 * 1000 // ms
)

// metricsInput is the Input dimension value the Lambda reports for a delivery.
func metricsInput(cfg Config) string {
	switch {
	case cfg.Pipeline.Collects():
		return "collect"
	case cfg.Pipeline.FlowLogDestination == FlowLogToS3:
		return "s3"
	}
	return "cloudwatch-logs"
}

// flowqMetric is one of the Lambda's EMF metrics for this deployment's delivery.
func flowqMetric(cfg Config, name, stat string, period float64) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(MetricsNamespace), MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{MetricsDimension: jsii.String(metricsInput(cfg))},
		Statistic:     jsii.String(stat), Period: awscdk.Duration_Minutes(jsii.Number(period)),
	})
}

// CopyMetricsNamespace is the namespace of this copy's own record counts:
// flowq/<pipeline stack name>.
func CopyMetricsNamespace(stack awscdk.Stack) string { return "flowq/" + *stack.StackName() }

// copyMetric is one of the Lambda's EMF values (Records, LateRecords) counted by a
// metric filter on this copy's own log group, in CopyMetricsNamespace. The EMF
// metrics themselves are dimensioned by input kind only, so copies under different
// -c env in one account and region would see each other's; these cannot.
func copyMetric(s *PipelineStack, field string, period float64) awscloudwatch.Metric {
	if s.copyMetrics == nil {
		s.copyMetrics = map[string]awscloudwatch.Metric{}
	}
	if _, ok := s.copyMetrics[field]; !ok {
		awslogs.NewMetricFilter(s.Stack, jsii.String(field+"MetricFilter"), &awslogs.MetricFilterProps{
			LogGroup: s.fnLogs,
			// The EMF line of each invocation (cmd/ingest-lambda/emf.go).
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(`{ $._aws.CloudWatchMetrics[0].Namespace = "` + MetricsNamespace + `" }`)),
			MetricNamespace: jsii.String(CopyMetricsNamespace(s.Stack)), MetricName: jsii.String(field),
			MetricValue: jsii.String("$." + field), Unit: awscloudwatch.Unit_COUNT,
		})
		s.copyMetrics[field] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(CopyMetricsNamespace(s.Stack)), MetricName: jsii.String(field), Statistic: jsii.String("Sum"),
		})
	}
	return s.copyMetrics[field].With(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(period))})
}

// allowAlarmsToPublish lets CloudWatch alarms of this account and region publish to
// the topic. A topic policy replaces SNS's default one, so without this statement
// the TLS-only policy that EnforceSSL adds leaves CloudWatch no way to publish.
func allowAlarmsToPublish(stack awscdk.Stack, topic awssns.Topic) {
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
			"ArnLike": map[string]any{
				"aws:SourceArn": "arn:" + *stack.Partition() + ":cloudwatch:" + *stack.Region() + ":" + *stack.Account() + ":alarm:*",
			},
		},
	}))
}

// alarmSpec is one alarm on the alert topic.
type alarmSpec struct {
	id, description string
	metric          awscloudwatch.IMetric
	threshold       float64
	cmp             awscloudwatch.ComparisonOperator
	missing         awscloudwatch.TreatMissingData
}

// newAlarms adds the pipeline's alarms, each notifying the alert topic when it
// fires and when it recovers.
func newAlarms(s *PipelineStack, cfg Config) {
	five := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}
	ge := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	quiet := awscloudwatch.TreatMissingData_NOT_BREACHING
	n := cfg.Pipeline.NoRecordsMinutes
	errors, noRecords := "flowq ingest Lambda returned errors (Lambda retries; the DLQ holds what failed 3 times)", ""
	if cfg.Pipeline.Collects() {
		errors = "a flowq collector run failed, timed out or crashed: Lambda retries it twice and the next run resumes from the " +
			"checkpoint, so no flow log is lost, but alerts wait (see the function's log)"
		noRecords = fmt.Sprintf(" (the collector runs every %d minutes)", cfg.Pipeline.CollectMinutes)
	}
	specs := []alarmSpec{
		{"IngestErrorsAlarm", errors, s.Function.MetricErrors(five), 1, ge, quiet},
		{"IngestThrottlesAlarm", "flowq ingest Lambda was throttled: flow logs wait in Lambda's queue (raise the account's concurrency or reserve some)",
			s.Function.MetricThrottles(five), 1, ge, quiet},
		{"AsyncEventAgeAlarm", "flow-log events waited over 10 minutes for the ingest Lambda (throttling or retries): alerts are late",
			s.Function.Metric(jsii.String("AsyncEventAge"), &awscloudwatch.MetricOptions{
				Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
			}), asyncAgeLimit, ge, quiet},
		{"AsyncEventsDroppedAlarm", "Lambda dropped flow-log events without running them (too old, or the on-failure queue unreachable)",
			s.Function.Metric(jsii.String("AsyncEventsDropped"), five), 1, ge, quiet},
		{"DeadLetterDepthAlarm", "flow-log batches failed ingestion and wait in the on-failure queue",
			s.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
				Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
			}), 1, ge, quiet},
		{"LateRecordsAlarm", "flow-log records arrived older than the detectors' state retention: they are in the lake but were not checked for alerts",
			copyMetric(s, LateRecordsName, 5), 1, ge, quiet},
		{"NoRecordsAlarm", fmt.Sprintf("no flow-log record was ingested for %d minutes: flow logs, delivery or the Lambda stopped (-c noRecordsMinutes)%s", n, noRecords),
			copyMetric(s, "Records", float64(n)), 1, awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
			awscloudwatch.TreatMissingData_BREACHING},
	}
	if cfg.Pipeline.Collects() {
		specs = append(specs, alarmSpec{SkippedObjectsAlarmID, "the flowq collector skipped flow-log objects it could not read (binary, " +
			"truncated or not the flow log's format): their records are in neither the lake nor the alerts (the function's log names each object)",
			copyMetric(s, SkippedObjectsName, 5), 1, ge, quiet})
	}
	action := awscloudwatchactions.NewSnsAction(s.Topic)
	for _, a := range specs {
		al := awscloudwatch.NewAlarm(s.Stack, jsii.String(a.id), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String(a.description), Metric: a.metric,
			Threshold: jsii.Number(a.threshold), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: a.cmp, TreatMissingData: a.missing,
		})
		al.AddAlarmAction(action)
		al.AddOkAction(action)
	}
}
