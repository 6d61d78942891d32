package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// The scheduled collector (the default delivery): the flow log writes 5-minute
// gzip objects to the flow-log bucket, and every -c collectMinutes an EventBridge
// schedule invokes the ingest Lambda with its Scheduled Event; the run lists the
// objects of the slots that have settled, writes each slot to the lake once and
// runs the detectors over it (cmd/ingest-lambda, internal/collect).
const (
	CollectScheduleID     = "CollectSchedule"
	DefaultCollectMinutes = 60
	// CollectSettleMinutes is how long after a slot's end its objects count as
	// delivered (AWS writes a flow log's objects every 5 minutes, some later); the
	// objects that arrive after that are ingested as a late batch of their slot.
	CollectSettleMinutes = 15
	// The ingest Lambda's environment for the collector (cmd/ingest-lambda/config.go).
	EnvDelivery       = "FLOWQ_DELIVERY"
	EnvCollectMinutes = "FLOWQ_COLLECT_MINUTES"
	EnvSettleMinutes  = "FLOWQ_SETTLE_MINUTES"
	// maxCollectTimeout is Lambda's longest run.
	maxCollectTimeout = 15
)

// validateCollectMinutes: slots tile the hour, or the day in whole hours, so that
// the schedule can run at the same minute after every slot; at least 5 minutes
// (AWS writes one object per 5 minutes) and at most 12 hours (the no-records
// alarm's period, at most a day, must exceed a run's interval plus its settle
// delay).
func validateCollectMinutes(n int) error {
	switch {
	case n >= 5 && n <= 60 && 60%n == 0:
		return nil
	case n > 60 && n <= 720 && n%60 == 0 && 24%(n/60) == 0:
		return nil
	}
	return fmt.Errorf("collectMinutes: want a divisor of 60 from 5 (5, 6, 10, 12, 15, 20, 30, 60) or whole hours that divide a day "+
		"up to 12 hours (120, 180, 240, 360, 480, 720) minutes between collector runs, got %d", n)
}

// CollectSchedule is the collector's EventBridge schedule: every n minutes, one
// minute after each slot has settled (slots start on the hour, or at midnight UTC
// for whole hours), so each run finds exactly the slot that just settled.
func CollectSchedule(n int) string {
	minute := (CollectSettleMinutes + 1) % 60
	if n <= 60 {
		m := fmt.Sprint(minute % n)
		if n < 60 {
			m += fmt.Sprintf("/%d", n)
		}
		return "cron(" + m + " * * * ? *)"
	}
	return fmt.Sprintf("cron(%d %d/%d * * ? *)", minute, (CollectSettleMinutes+1)/60, n/60)
}

// collectTimeoutMinutes: a run may take up to Lambda's 15 minutes, but ends before
// the next one starts.
func collectTimeoutMinutes(n int) int { return min(maxCollectTimeout, n-1) }

// newCollectSchedule lets the Lambda list the delivered objects (prefix is the
// flow log's region directory, bucket the flow-log bucket's ARN), tells it where
// they are and how long a slot is, and invokes it on the schedule.
func (s *PipelineStack) newCollectSchedule(cfg Config, bucketName, bucketARN, prefix *string) {
	stack := s.Stack
	n := cfg.Pipeline.CollectMinutes
	s.policy.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("FlowLogList"), Actions: jsii.Strings("s3:ListBucket"), Resources: &[]*string{bucketARN},
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{*prefix + "*"}}},
	}))
	s.Function.AddEnvironment(jsii.String(EnvDelivery), jsii.String("s3://"+*bucketName+"/"+*prefix), nil)
	s.Function.AddEnvironment(jsii.String(EnvCollectMinutes), jsii.String(fmt.Sprint(n)), nil)
	s.Function.AddEnvironment(jsii.String(EnvSettleMinutes), jsii.String(fmt.Sprint(CollectSettleMinutes)), nil)

	rule := awsevents.NewRule(stack, jsii.String(CollectScheduleID), &awsevents.RuleProps{
		Description: jsii.String(fmt.Sprintf("flowq collector: ingest and check the flow logs of each %d-minute slot once it has settled "+
			"(-c collectMinutes)", n)),
		Schedule: awsevents.Schedule_Expression(jsii.String(CollectSchedule(n))),
	})
	// A run that fails is retried by Lambda (the function's invoke config) and
	// resumes from the collector's checkpoint; a run EventBridge cannot deliver
	// within the interval is superseded by the next.
	rule.AddTarget(awseventstargets.NewLambdaFunction(s.Function, &awseventstargets.LambdaFunctionProps{
		RetryAttempts: jsii.Number(2), MaxEventAge: awscdk.Duration_Minutes(jsii.Number(float64(n))),
	}))
	pin(rule, CollectScheduleID)
}

// DeliverySummary says in one sentence how flow logs reach the Lambda and what
// that means for latency and cost: cdk synth prints it and the pipeline stack's
// description carries it.
func (c Config) DeliverySummary() string {
	p := c.Pipeline
	switch {
	case p.Collects():
		return fmt.Sprintf("flow logs delivered to S3 (%s), read by the scheduled collector every %d minutes: alerts %d to %d minutes "+
			"after the traffic, the lowest cost (-c flowLogDestination=cloud-watch-logs for real time)",
			p.FlowLogFileFormat, p.CollectMinutes, CollectSettleMinutes, p.CollectMinutes+CollectSettleMinutes)
	case p.S3Notifications:
		return fmt.Sprintf("flow logs delivered to S3 (%s), each object (one per 5 minutes) invoking the Lambda: alerts minutes "+
			"after the traffic, an invocation and a lake write per object", p.FlowLogFileFormat)
	case c.FlowLogGroup != "":
		return "flow logs read from the existing CloudWatch Logs group " + c.FlowLogGroup + " through a subscription: real time, " +
			"the highest cost (CloudWatch Logs ingestion and an invocation per batch)"
	}
	return "flow logs delivered to CloudWatch Logs, a subscription invoking the Lambda per batch: real time, the highest cost " +
		"(-c flowLogDestination=s3, the default, for the scheduled collector)"
}
