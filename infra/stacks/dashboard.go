package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"
)

// DashboardID is the logical ID of the pipeline's CloudWatch dashboard.
const DashboardID = "PipelineDashboard"

// newDashboard adds one dashboard for operating the pipeline: what flows in (records,
// bytes), what comes out (alerts), what went wrong (late records, bad lines,
// errors, throttles, the on-failure queue) and how long it takes.
func newDashboard(s *PipelineStack, cfg Config) {
	five := func(o *awscloudwatch.MetricOptions) *awscloudwatch.MetricOptions {
		o.Period = awscdk.Duration_Minutes(jsii.Number(5))
		return o
	}
	sum := func(name, label string) awscloudwatch.IMetric {
		return flowqMetric(cfg, name, "Sum", 5).With(&awscloudwatch.MetricOptions{Label: jsii.String(label)})
	}
	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Width: jsii.Number(8), Height: jsii.Number(6),
		})
	}
	db := awscloudwatch.NewDashboard(s.Stack, jsii.String(DashboardID), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(24)),
	})
	copySum := func(name, label string) awscloudwatch.IMetric {
		return copyMetric(s, name, 5).With(&awscloudwatch.MetricOptions{Label: jsii.String(label)})
	}
	db.AddWidgets(
		graph("Records ingested", copySum("Records", "records")),
		graph("Flow-log bytes read", sum("Bytes", "bytes")),
		graph("Alerts raised", sum("Alerts", "alerts")),
	)
	gaps := []awscloudwatch.IMetric{copySum(LateRecordsName, "late records"), sum("BadLines", "bad lines")}
	if cfg.Pipeline.Collects() {
		gaps = append(gaps, copySum(SkippedObjectsName, "skipped objects"), sum("LateObjects", "late objects"))
	}
	db.AddWidgets(
		graph("Late records, bad lines, skipped objects", gaps...),
		graph("Lambda errors and throttles",
			s.Function.MetricErrors(five(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Label: jsii.String("errors")})),
			s.Function.MetricThrottles(five(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Label: jsii.String("throttles")}))),
		graph("Lambda duration (ms)",
			s.Function.MetricDuration(five(&awscloudwatch.MetricOptions{Statistic: jsii.String("p50"), Label: jsii.String("p50")})),
			s.Function.MetricDuration(five(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Label: jsii.String("max")}))),
	)
	db.AddWidgets(
		graph("On-failure queue depth",
			s.DLQ.MetricApproximateNumberOfMessagesVisible(five(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Label: jsii.String("messages")}))),
		graph("Async event age (ms)",
			s.Function.Metric(jsii.String("AsyncEventAge"), five(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Label: jsii.String("max age")}))),
		graph("Parquet written", sum("ParquetObjects", "objects"), sum("ParquetBytes", "bytes")),
	)
}
