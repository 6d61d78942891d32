package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/flowq/flowq/infra/iampolicy"
	"github.com/flowq/flowq/infra/stacks"
	"github.com/flowq/flowq/internal/store"
)

// TestS3Collector deploys the pipeline in its default mode (S3 delivery read by
// the scheduled collector) for a VPC made outside the app (beside the preset
// deployments, under -c env=s3 in the same account and region), reads the flow log,
// the bucket, the schedule and its target back, then puts flow-log objects into the
// bucket as AWS names and writes them (one settled slot, one object of it binary),
// and runs the deployed function's code (cmd/ingest-lambda, built for this machine,
// with the deployed function's environment, behind a local Lambda runtime API) on
// the Scheduled Event EventBridge sends, three times (a late object arrives after
// the first). The records must end in the lake once each, with the values written;
// the bad object is skipped by name and counted where the alarm reads it.
func TestS3Collector(t *testing.T) {
	endpoint := os.Getenv("FLOWQ_DEPLOY_ENDPOINT")
	if endpoint == "" {
		t.Skip("needs a deployment: run make -C infra deploy-local")
	}
	ctx := context.Background()
	m := newModes(t, endpoint)
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(modesRegion), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })

	vpc, err := m.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.81.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	cfg := stacks.Config{Preset: stacks.Presets["tradai"], Env: "s3"}
	dir, out, err := m.deploy(t, "preset=tradai", "env=s3", "vpcId="+vpcID)
	if err != nil {
		t.Fatalf("cdk deploy -c vpcId (S3 delivery, the collector): %v\n%s", err, tail(out))
	}
	if !strings.Contains(out, "read by the scheduled collector every 60 minutes") {
		t.Errorf("cdk deploy does not say how the flow logs are read:\n%s", tail(out))
	}
	tmpl := readTemplate(t, dir, cfg.StackID("Pipeline"))
	res := m.physical(t, cfg.StackID("Pipeline"))
	bucket, lakeBucket, fnName := res[stacks.FlowLogBucketID], res[stacks.LakeBucketID], res[stacks.IngestFunctionID]
	if bucket == "" || lakeBucket == "" || fnName == "" {
		t.Fatalf("deployed: flow-log bucket %q, lake %q, function %q", bucket, lakeBucket, fnName)
	}
	if !strings.HasPrefix(bucket, "flowq-flowlogs-") {
		t.Errorf("flow-log bucket %q", bucket)
	}

	t.Run("AlarmsCanPublish", func(t *testing.T) { alarmsCanPublish(t, sns.NewFromConfig(awsCfg), tmpl, res[stacks.AlertTopicID]) })

	// The flow log: the VPC, all traffic, to the bucket, flowq's format.
	fls, err := m.ec2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{
		Filter: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{vpcID}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fls.FlowLogs) != 1 {
		t.Fatalf("%d flow logs on the VPC, want 1", len(fls.FlowLogs))
	}
	fl := fls.FlowLogs[0]
	diff(t, "flow log", []string{string(fl.TrafficType), string(fl.LogDestinationType), aws.ToString(fl.LogDestination), aws.ToString(fl.LogFormat)},
		[]string{"ALL", "s3", "arn:aws:s3:::" + bucket, stacks.FlowLogFormat})
	if o := fl.DestinationOptions; o != nil && (string(o.FileFormat) != "plain-text" || !aws.ToBool(o.PerHourPartition)) {
		t.Errorf("destination options: %s, hourly %v", o.FileFormat, aws.ToBool(o.PerHourPartition))
	}
	enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "bucket encryption", string(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm), "AES256")
	// The collector reads the bucket on its schedule: no object notification.
	nc, err := s3c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(nc.LambdaFunctionConfigurations); n != 0 || tmpl.Resources[stacks.FlowLogBucketID].Properties["NotificationConfiguration"] != nil {
		t.Errorf("the flow-log bucket notifies the Lambda (%d configurations)", n)
	}

	fn, err := m.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &fnName})
	if err != nil {
		t.Fatal(err)
	}
	checkSchedule(t, eventbridge.NewFromConfig(awsCfg), m.lambda, res[stacks.CollectScheduleID], aws.ToString(fn.FunctionArn), 60)
	env := map[string]string{}
	for k, v := range fn.Environment.Variables {
		env[k] = v
	}
	prefix := "AWSLogs/123456789012/vpcflowlogs/" + modesRegion + "/"
	diff(t, "collector environment", []string{env[stacks.EnvDelivery], env[stacks.EnvCollectMinutes], env[stacks.EnvSettleMinutes]},
		[]string{"s3://" + bucket + "/" + prefix, "60", "15"})
	diff(t, "timeout", aws.ToInt32(fn.Timeout), int32(900))

	// Flow-log objects as AWS writes them (gzip, a header of field names, then the
	// records, 5-minute names under the hourly layout) in the last slot that has
	// settled (its end plus 15 minutes is past): two good ones and one that is not
	// gzip at all.
	now := time.Now().UTC()
	slot := now.Truncate(time.Hour).Add(-time.Hour)
	if now.Sub(slot.Add(time.Hour)) < 16*time.Minute {
		slot = slot.Add(-time.Hour)
	}
	put := func(minute int, body []byte) {
		at := slot.Add(time.Duration(minute) * time.Minute)
		key := prefix + at.Format("2006/01/02/15/") + "123456789012_vpcflowlogs_" + modesRegion + "_fl-0a1b2c3d4e5f67890_" +
			at.Format("20060102T1504Z") + fmt.Sprintf("_3f1e2d%02d.log.gz", minute)
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	recs := deliveredRecords(slot)
	put(5, gzipText(t, recs[:2]))
	put(50, gzipText(t, recs[2:]))
	put(30, bytes.Repeat([]byte{0x00, 0xff, 0x1f, 0x8b}, 1024)) // binary, not even gzip

	// EventBridge's Scheduled Event for the rule, to the deployed function's code:
	// run 1 ingests the slot (and skips the bad object by name, which the skipped-
	// objects alarm's metric filter reads); then an object of the done slot arrives
	// late and run 2 ingests it alone; run 3 (a retry, say) finds nothing new. The
	// lake holds each record once after every run.
	event, _ := json.Marshal(map[string]any{
		"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event", "source": "aws.events",
		"account": "123456789012", "time": now.Format(time.RFC3339), "region": modesRegion,
		"resources": []string{"arn:aws:events:" + modesRegion + ":123456789012:rule/" + res[stacks.CollectScheduleID]}, "detail": map[string]any{},
	})
	late := map[string]string{}
	for k, v := range recs[0] {
		late[k] = v
	}
	late["srcport"], late["bytes"] = "443", "777"
	for run := 1; run <= 3; run++ {
		resp, logs := runLambda(t, env, endpoint, fnName, event)
		var sum struct {
			Input       string `json:"input"`
			Records     int64  `json:"records"`
			BadLines    int64  `json:"bad_lines"`
			Skipped     int    `json:"skipped"`
			LateObjects int    `json:"late_objects"`
		}
		if err := json.Unmarshal(resp, &sum); err != nil {
			t.Fatalf("response %s: %v", resp, err)
		}
		got := []any{sum.Input, sum.Records, sum.BadLines, sum.Skipped, sum.LateObjects}
		switch run {
		case 1:
			diff(t, "run 1", got, []any{"collect", int64(len(recs)), int64(0), 1, 0})
			checkMetricFilters(t, tmpl, logs, map[string]float64{"Records": float64(len(recs)), "LateRecords": 0, stacks.SkippedObjectsName: 1})
			if !strings.Contains(string(logs), "_3f1e2d30.log.gz") {
				t.Errorf("the function's log does not name the object it skipped")
			}
		case 2:
			diff(t, "run 2 (a late object)", got[:2], []any{"collect", int64(1)})
			if sum.LateObjects != 1 {
				t.Errorf("late objects %d, want 1", sum.LateObjects)
			}
		case 3:
			diff(t, "run 3", got[:2], []any{"collect", int64(0)})
		}
		checkLake(t, ctx, s3c, env["FLOWQ_LAKE"], lakeBucket, slot, recs)
		if run == 1 {
			put(55, gzipText(t, []map[string]string{late})) // after the slot was done
			recs = append(recs, late)
		}
	}
}

// checkSchedule reads the collector's rule back through EventBridge: the schedule
// for an n-minute slot, enabled, its one target the function, and the function's
// resource policy letting that rule (and only it) invoke it.
func checkSchedule(t *testing.T, eb *eventbridge.Client, lc *lambda.Client, rule, fnARN string, n int) {
	t.Helper()
	ctx := context.Background()
	if rule == "" {
		t.Fatalf("the schedule %s was not deployed", stacks.CollectScheduleID)
	}
	r, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: &rule})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "schedule", []string{aws.ToString(r.ScheduleExpression), string(r.State)}, []string{stacks.CollectSchedule(n), "ENABLED"})
	targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: &rule})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != fnARN || targets.Targets[0].Input != nil {
		t.Errorf("targets of %s: %+v, want the function %s with the Scheduled Event", rule, targets.Targets, fnARN)
	}
	pol, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: &fnARN})
	if err != nil {
		t.Fatalf("the function's policy: %v", err)
	}
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
		t.Fatal(err)
	}
	var invokers []string
	for _, st := range doc.Statement {
		b, _ := json.Marshal([]any{st["Principal"], st["Condition"]})
		invokers = append(invokers, string(b))
	}
	if len(invokers) != 1 || !strings.Contains(invokers[0], "events.amazonaws.com") || !strings.Contains(invokers[0], aws.ToString(r.Arn)) {
		t.Errorf("the function's invokers %v: want EventBridge for %s alone", invokers, aws.ToString(r.Arn))
	}
}

// checkLake reads the lake back through its own reader: exactly the records
// written, once, in the slot's hourly partition, which holds Parquet only (Athena
// reads every object of a partition).
func checkLake(t *testing.T, ctx context.Context, s3c *s3.Client, uri, lakeBucket string, slot time.Time, recs []map[string]string) {
	t.Helper()
	lake, err := store.Open(ctx, uri, store.Options{S3: s3c})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = lake.Scan(ctx, nil, func(rec arrow.RecordBatch) error {
		cols := map[string]int{}
		for i, f := range rec.Schema().Fields() {
			cols[f.Name] = i
		}
		src := rec.Column(cols["srcaddr"]).(*array.String)
		dst := rec.Column(cols["dstaddr"]).(*array.String)
		byt := rec.Column(cols["bytes"]).(*array.Int64)
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, fmt.Sprintf("%s>%s %d", src.Value(i), dst.Value(i), byt.Value(i)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range recs {
		want = append(want, fmt.Sprintf("%s>%s %s", r["srcaddr"], r["dstaddr"], r["bytes"]))
	}
	sort.Strings(got)
	sort.Strings(want)
	diff(t, "records in the lake", got, want)
	objs, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &lakeBucket, Prefix: aws.String(slot.Format("flows/year=2006/month=01/day=02/hour=15/"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Contents) == 0 {
		t.Errorf("no object in the records' hourly partition")
	}
	for _, o := range objs.Contents {
		if !strings.HasSuffix(aws.ToString(o.Key), ".parquet") {
			t.Errorf("partition holds %s: Athena reads every object of a partition", aws.ToString(o.Key))
		}
	}
}

// alarmsCanPublish applies the template's alert-topic policy to the deployed topic
// as CloudFormation would (moto's CloudFormation skips AWS::SNS::TopicPolicy), reads
// it back from SNS, and evaluates the stored document: this account's CloudWatch
// alarms may publish over TLS, the TLS-only deny does not block them, and others may
// not. Then it publishes to the KMS-encrypted topic.
func alarmsCanPublish(t *testing.T, c *sns.Client, tmpl template, topic string) {
	ctx := context.Background()
	var doc any
	for _, r := range tmpl.Resources {
		if r.Type != "AWS::SNS::TopicPolicy" {
			continue
		}
		if ts, _ := r.Properties["Topics"].([]any); len(ts) == 1 && fmt.Sprint(ts[0]) == fmt.Sprint(map[string]any{"Ref": stacks.AlertTopicID}) {
			doc = r.Properties["PolicyDocument"]
		}
	}
	if doc == nil {
		t.Fatal("no policy for the alert topic in the template")
	}
	vals := iampolicy.Values{"AWS::AccountId": "123456789012", "AWS::Region": modesRegion, "AWS::Partition": "aws", stacks.AlertTopicID: topic}
	b, err := json.Marshal(vals.ResolveAll(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: &topic, AttributeName: aws.String("Policy"), AttributeValue: aws.String(string(b))}); err != nil {
		t.Fatalf("SNS refused the topic policy: %v\n%s", err, b)
	}
	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &topic})
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal([]byte(attrs.Attributes["Policy"]), &stored); err != nil {
		t.Fatalf("stored policy %q: %v", attrs.Attributes["Policy"], err)
	}
	alarm := "arn:aws:cloudwatch:" + modesRegion + ":123456789012:alarm:FlowqTradaiS3Pipeline-NoRecordsAlarm-1"
	for _, tc := range []struct {
		name, service, tls, account, want string
	}{
		{"alarm over TLS", "cloudwatch.amazonaws.com", "true", "123456789012", "allow"},
		{"alarm without TLS", "cloudwatch.amazonaws.com", "false", "123456789012", "deny"},
		{"another account's alarm", "cloudwatch.amazonaws.com", "true", "210987654321", "implicit deny"},
		{"another service", "events.amazonaws.com", "true", "123456789012", "implicit deny"},
	} {
		r := iampolicy.Request{Service: tc.service, Action: "sns:Publish", Resource: topic,
			Context: map[string]string{"aws:SecureTransport": tc.tls, "aws:SourceAccount": tc.account, "aws:SourceArn": alarm}}
		if got := (iampolicy.Values{}).Evaluate(stored, r); got != tc.want {
			t.Errorf("%s: %s, want %s (stored policy %s)", tc.name, got, tc.want, attrs.Attributes["Policy"])
		}
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Subject: aws.String("flowq test"), Message: aws.String("alarm path")}); err != nil {
		t.Errorf("publish to the alert topic: %v", err)
	}
}
