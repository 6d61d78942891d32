package stacks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/flowq/flowq/infra/iampolicy"
)

// s3Context is the S3-notification variant the tests synthesize (one synth for all
// of them): Parquet objects, a named copy, a custom no-records time and a detection
// configuration file. The default context (nil) is the scheduled collector.
var s3Context = map[string]string{
	"flowLogDestination": "s3-notifications", "flowLogFileFormat": "parquet", "noRecordsMinutes": "90",
	"env": "staging", "detectConfig": "testdata/detect.yaml",
}

// cwContext is the CloudWatch Logs variant: the network's flow log to a log group
// with a subscription filter to the Lambda (real time).
var cwContext = map[string]string{"flowLogDestination": "cloud-watch-logs"}

// Values the policy evaluator gives the templates' intrinsics.
const (
	testAccount  = "123456789012"
	testRegion   = "us-east-1"
	testTopicARN = "arn:aws:sns:us-east-1:123456789012:flowq-alerts"
	testAlarmARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:FlowqTradaiPipeline-NoRecordsAlarm-X"
	testStackID  = "arn:aws:cloudformation:us-east-1:123456789012:stack/FlowqTradaiStagingPipeline/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
)

func testIntrinsics() iampolicy.Values {
	return iampolicy.Values{"AWS::AccountId": testAccount, "AWS::Region": testRegion, "AWS::Partition": "aws", "AWS::StackId": testStackID,
		AlertTopicID: testTopicARN, AlertKeyID + ".Arn": "arn:aws:kms:us-east-1:123456789012:key/k"}
}

// TestTopicPolicyLetsAlarmsPublish: the alert topic's policy (which replaces SNS's
// default policy) lets CloudWatch alarms of this account publish over TLS, the
// TLS-only deny does not block them, and the topic key lets CloudWatch encrypt. On
// the old template, CloudWatch's publish was an implicit deny.
func TestTopicPolicyLetsAlarmsPublish(t *testing.T) {
	tmpl := synth(t, "tradai", nil).pipeline
	var doc map[string]any
	for _, p := range resources(t, tmpl, "AWS::SNS::TopicPolicy") {
		if ref(asList(p["Topics"])[0]) == "" && ref(p["Topics"].([]any)[0]) != AlertTopicID {
			continue
		}
		doc = p["PolicyDocument"].(map[string]any)
	}
	if doc == nil {
		t.Fatal("no policy on the alert topic")
	}
	in := testIntrinsics()
	alarm := map[string]string{"aws:SecureTransport": "true", "aws:SourceAccount": testAccount, "aws:SourceArn": testAlarmARN}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range alarm {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name string
		req  iampolicy.Request
		want string
	}{
		{"alarm publishes", iampolicy.Request{Service: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: testTopicARN, Context: alarm}, "allow"},
		{"alarm without TLS", iampolicy.Request{Service: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: testTopicARN,
			Context: with("aws:SecureTransport", "false")}, "deny"},
		{"another account's alarm", iampolicy.Request{Service: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: testTopicARN,
			Context: with("aws:SourceAccount", "210987654321")}, "implicit deny"},
		{"alarm of another region", iampolicy.Request{Service: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: testTopicARN,
			Context: with("aws:SourceArn", strings.Replace(testAlarmARN, testRegion, "eu-west-1", 1))}, "implicit deny"},
		{"another service", iampolicy.Request{Service: "events.amazonaws.com", Action: "sns:Publish", Resource: testTopicARN, Context: alarm}, "implicit deny"},
		{"alarm changes the topic", iampolicy.Request{Service: "cloudwatch.amazonaws.com", Action: "sns:SetTopicAttributes", Resource: testTopicARN, Context: alarm}, "implicit deny"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := in.Evaluate(doc, tc.req); got != tc.want {
				b, _ := json.Marshal(doc)
				t.Errorf("%s; policy %s", got, b)
			}
		})
	}
	key := resources(t, tmpl, "AWS::KMS::Key")[AlertKeyID]["KeyPolicy"].(map[string]any)
	for _, action := range []string{"kms:GenerateDataKey", "kms:Decrypt"} {
		r := iampolicy.Request{Service: "cloudwatch.amazonaws.com", Action: action, Resource: "arn:aws:kms:us-east-1:123456789012:key/k",
			Context: map[string]string{"aws:SourceAccount": testAccount}}
		if got := in.Evaluate(key, r); got != "allow" {
			t.Errorf("topic key: CloudWatch %s: %s", action, got)
		}
	}
}

// TestLogGroupsEncrypted: every log group of every stack is encrypted with a
// customer key whose policy lets CloudWatch Logs use it for this account's groups.
func TestLogGroupsEncrypted(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
	}{{"tradai", nil}, {"menotime", nil}, {"tradai", s3Context}} {
		s := synth(t, tc.preset, tc.ctx)
		for kind, tmpl := range map[string]map[string]map[string]any{
			"network": resources(t, s.network, "AWS::Logs::LogGroup"), "pipeline": resources(t, s.pipeline, "AWS::Logs::LogGroup"),
		} {
			for id, g := range tmpl {
				if g["KmsKeyId"] == nil {
					t.Errorf("%s %s: log group %s is not KMS-encrypted", tc.preset, kind, id)
				}
			}
		}
		groups := resources(t, s.pipeline, "AWS::Logs::LogGroup")
		if len(groups) == 0 {
			t.Fatal("no log group in the pipeline")
		}
		in := testIntrinsics()
		key := resources(t, s.pipeline, "AWS::KMS::Key")[LogKeyID]["KeyPolicy"].(map[string]any)
		region := s.cfg.Region
		group := "arn:aws:logs:" + region + ":123456789012:log-group:/aws/lambda/x"
		for _, tc := range []struct {
			ctx  string
			want string
		}{{group, "allow"}, {"arn:aws:logs:" + region + ":210987654321:log-group:y", "implicit deny"}} {
			r := iampolicy.Request{Service: "logs." + region + ".amazonaws.com", Action: "kms:GenerateDataKey", Resource: "k",
				Context: map[string]string{"kms:EncryptionContext:aws:logs:arn": tc.ctx}}
			if got := in.Evaluate(key, r); got != tc.want {
				t.Errorf("log key for %s: %s, want %s", tc.ctx, got, tc.want)
			}
		}
	}
}

// TestRetainedOnDelete: deleting the stack keeps what holds data: the lake, the
// on-failure queue (flow logs not yet ingested), the raw flow-log bucket, the
// state, the keys.
func TestRetainedOnDelete(t *testing.T) {
	tmpl := templateJSON(synth(t, "tradai", s3Context).pipeline)["Resources"].(map[string]any)
	for _, id := range []string{LakeBucketID, LakeAccessLogsID, DeadLetterQueueID, FlowLogBucketID, StateTableID, AlertKeyID, LogKeyID, AthenaResultsID} {
		r, ok := tmpl[id].(map[string]any)
		if !ok {
			t.Errorf("no %s", id)
			continue
		}
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
}

// TestS3Delivery: with -c flowLogDestination=s3-notifications the VPC's flow log
// goes to an encrypted bucket in hourly partitions, the bucket's notifications
// invoke the Lambda (whose permission names exactly that bucket), and the Lambda may
// read the delivered objects and nothing else of the bucket.
func TestS3Delivery(t *testing.T) {
	s := synth(t, "tradai", s3Context)
	tmpl := s.pipeline
	raw := templateJSON(tmpl)["Resources"].(map[string]any)
	b := raw[FlowLogBucketID].(map[string]any)
	props := b["Properties"].(map[string]any)
	in := testIntrinsics()
	const bucketName = "flowq-flowlogs-0a1b2c3d-aaaa-bbbb-cccc-0123456789ab" // from testStackID
	diff(t, "bucket name", in.Resolve(props["BucketName"]), bucketName)
	diff(t, "encryption", props["BucketEncryption"], map[string]any{"ServerSideEncryptionConfiguration": []any{
		map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}})
	lc := asList(props["NotificationConfiguration"].(map[string]any)["LambdaConfigurations"])
	if len(lc) != 1 {
		t.Fatalf("notifications %v", props["NotificationConfiguration"])
	}
	var rules []string
	for _, r := range asList(lc[0]["Filter"].(map[string]any)["S3Key"].(map[string]any)["Rules"]) {
		rules = append(rules, r["Name"].(string)+"="+in.Resolve(r["Value"]))
	}
	diff(t, "notification", []any{lc[0]["Event"], ref(lc[0]["Function"]), rules},
		[]any{"s3:ObjectCreated:*", IngestFunctionID, []string{"prefix=AWSLogs/" + testAccount + "/vpcflowlogs/us-east-1/", "suffix=.log.parquet"}})
	if !strings.Contains(fmt.Sprint(b["DependsOn"]), IngestFromS3ID) {
		t.Errorf("bucket does not wait for the Lambda permission: DependsOn %v", b["DependsOn"])
	}
	perm := resources(t, tmpl, "AWS::Lambda::Permission")[IngestFromS3ID]
	diff(t, "permission", []any{perm["Principal"], ref(perm["FunctionName"]), in.Resolve(perm["SourceArn"]), ref(perm["SourceAccount"])},
		[]any{"s3.amazonaws.com", IngestFunctionID, "arn:aws:s3:::" + bucketName, "AWS::AccountId"})
	fl := resources(t, tmpl, "AWS::EC2::FlowLog")[S3FlowLogID]
	diff(t, "flow log", []any{fl["LogDestinationType"], ref(fl["LogDestination"]), fl["LogFormat"], fl["TrafficType"], fl["DestinationOptions"]},
		[]any{"s3", FlowLogBucketID, FlowLogFormat, "ALL", map[string]any{"FileFormat": "parquet", "HiveCompatiblePartitions": false, "PerHourPartition": true}})
	if n := len(resources(t, tmpl, "AWS::Logs::SubscriptionFilter")); n != 0 {
		t.Errorf("%d subscription filters with S3 delivery", n)
	}

	// The log-delivery service may write the objects and check the ACL, nothing else.
	var policy map[string]any
	for _, p := range resources(t, tmpl, "AWS::S3::BucketPolicy") {
		if ref(p["Bucket"]) == FlowLogBucketID {
			policy = p["PolicyDocument"].(map[string]any)
		}
	}
	in[FlowLogBucketID+".Arn"] = "arn:aws:s3:::flowq-flowlogs-x"
	in[FlowLogBucketID] = "flowq-flowlogs-x"
	deliver := map[string]string{"aws:SecureTransport": "true", "aws:SourceAccount": testAccount,
		"aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:delivery-source:x", "s3:x-amz-acl": "bucket-owner-full-control"}
	obj := "arn:aws:s3:::flowq-flowlogs-x/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/30/10/f.log.parquet"
	for _, tc := range []struct {
		action, resource, want string
	}{
		{"s3:PutObject", obj, "allow"},
		{"s3:GetBucketAcl", "arn:aws:s3:::flowq-flowlogs-x", "allow"},
		{"s3:GetObject", obj, "implicit deny"},
		{"s3:PutObject", "arn:aws:s3:::flowq-flowlogs-x/other/x", "implicit deny"},
	} {
		r := iampolicy.Request{Service: "delivery.logs.amazonaws.com", Action: tc.action, Resource: tc.resource, Context: deliver}
		if got := in.Evaluate(policy, r); got != tc.want {
			t.Errorf("log delivery %s on %s: %s, want %s", tc.action, tc.resource, got, tc.want)
		}
	}
	var got []string
	for _, st := range asList(resources(t, tmpl, "AWS::IAM::Policy")[IngestPolicyID]["PolicyDocument"].(map[string]any)["Statement"]) {
		if st["Sid"] == "FlowLogObjects" {
			got = append(got, fmt.Sprintf("%v on %s", st["Action"], in.Resolve(st["Resource"])))
		}
	}
	diff(t, "the Lambda's grant on the flow-log bucket", got, []string{"s3:GetObject on arn:aws:s3:::" + bucketName + "/AWSLogs/" + testAccount + "/vpcflowlogs/us-east-1/*"})
	if rules := resources(t, tmpl, "AWS::Events::Rule"); rules[CollectScheduleID] != nil {
		t.Errorf("a collector schedule with S3 notifications")
	}
	diff(t, "plain-text objects", FlowLogObjectSuffix(FlowLogPlainText), ".log.gz")
}

// TestEnvCopies: -c env=NAME renames the stacks and every physical name that is
// unique in an account and region, so two copies of a preset can coexist.
func TestEnvCopies(t *testing.T) {
	base, named := synth(t, "tradai", nil), synth(t, "tradai", s3Context)
	diff(t, "stack names", []string{*named.stacks.Network.StackName(), *named.stacks.Pipeline.StackName()},
		[]string{"FlowqTradaiStagingNetwork", "FlowqTradaiStagingPipeline"})
	diff(t, "glue database", GlueDatabaseName(named.cfg), "flowq_tradai_staging")
	a, b := physicalNames(t, base), physicalNames(t, named)
	if len(b) < 3 {
		t.Fatalf("only %d fixed names found: the walk is broken", len(b))
	}
	for v, where := range b {
		if w, ok := a[v]; ok {
			t.Errorf("name %s in both copies (%s, %s)", v, w, where)
		}
	}
}

// uniqueNames are the properties that name a resource uniquely in an account and
// region (S3: globally), by resource type.
var uniqueNames = map[string][]string{
	"AWS::Glue::Database": {"DatabaseInput", "Name"}, "AWS::Athena::WorkGroup": {"Name"},
	"AWS::S3::Bucket": {"BucketName"}, "AWS::Lambda::Function": {"FunctionName"}, "AWS::DynamoDB::Table": {"TableName"},
	"AWS::SQS::Queue": {"QueueName"}, "AWS::SNS::Topic": {"TopicName"}, "AWS::Logs::LogGroup": {"LogGroupName"},
	"AWS::IAM::Role": {"RoleName"}, "AWS::IAM::ManagedPolicy": {"ManagedPolicyName"}, "AWS::CloudWatch::Alarm": {"AlarmName"},
	"AWS::CloudWatch::Dashboard": {"DashboardName"}, "AWS::AutoScaling::AutoScalingGroup": {"AutoScalingGroupName"},
	"AWS::EC2::LaunchTemplate": {"LaunchTemplateName"}, "AWS::ElasticLoadBalancingV2::LoadBalancer": {"Name"},
	"AWS::ElasticLoadBalancingV2::TargetGroup": {"Name"}, "AWS::KMS::Alias": {"AliasName"}, "AWS::SSM::Parameter": {"Name"},
	"AWS::Events::Rule": {"Name"}, "AWS::Scheduler::Schedule": {"Name"}, "AWS::EC2::KeyPair": {"KeyName"},
}

// physicalNames returns the fixed names of both stacks (and their export names):
// literal strings, or intrinsics as JSON unless they derive from the stack's own
// ID or name (unique per stack).
func physicalNames(t *testing.T, s *synthesized) map[string]string {
	out := map[string]string{}
	add := func(v any, where string) {
		b, _ := json.Marshal(v)
		if v == nil || strings.Contains(string(b), "AWS::StackId") || strings.Contains(string(b), "AWS::StackName") {
			return
		}
		out[string(b)] = where
	}
	for _, tmpl := range []assertions.Template{s.network, s.pipeline} {
		j := templateJSON(tmpl)
		for id, r := range j["Resources"].(map[string]any) {
			r := r.(map[string]any)
			path, ok := uniqueNames[r["Type"].(string)]
			if !ok {
				continue
			}
			var v any = r["Properties"]
			for _, k := range path {
				m, _ := v.(map[string]any)
				v = m[k]
			}
			add(v, id)
		}
		outs, _ := j["Outputs"].(map[string]any)
		for id, o := range outs {
			if e, ok := o.(map[string]any)["Export"].(map[string]any); ok {
				add(e["Name"], "export "+id)
			}
		}
	}
	return out
}

// TestDashboard: one dashboard shows records, bytes, alerts, late records, bad
// lines, errors, throttles, duration, the on-failure queue and event age.
func TestDashboard(t *testing.T) {
	tmpl := synth(t, "tradai", nil).pipeline
	ds := resources(t, tmpl, "AWS::CloudWatch::Dashboard")
	if len(ds) != 1 {
		t.Fatalf("%d dashboards", len(ds))
	}
	var d map[string]any
	for _, d = range ds {
	}
	body := flat(d["DashboardBody"])
	for _, m := range []string{`"flowq/FlowqTradaiPipeline","Records"`, `"flowq/FlowqTradaiPipeline","LateRecords"`,
		`"flowq","Bytes","Input","collect"`, `"Alerts"`, `"BadLines"`,
		`"AWS/Lambda","Errors"`, `"AWS/Lambda","Throttles"`, `"AWS/Lambda","Duration"`, `"AsyncEventAge"`,
		`"AWS/SQS","ApproximateNumberOfMessagesVisible"`, `"flowq/FlowqTradaiPipeline","Skipped"`, `"flowq","LateObjects","Input","collect"`} {
		if !strings.Contains(body, m) {
			t.Errorf("dashboard lacks %s", m)
		}
	}
}

// TestAthenaWorkgroup: queries run in a workgroup that enforces encrypted results
// in their own bucket and a per-query scan limit.
func TestAthenaWorkgroup(t *testing.T) {
	for _, tc := range []struct {
		ctx        map[string]string
		name       string
		limitBytes float64
	}{{nil, "flowq-tradai", 10e9}, {map[string]string{"athenaScanLimitGB": "2"}, "flowq-tradai", 2e9}, {s3Context, "flowq-tradai-staging", 10e9}} {
		tmpl := synth(t, "tradai", tc.ctx).pipeline
		wg := resources(t, tmpl, "AWS::Athena::WorkGroup")[AthenaWorkgroupID]
		c := wg["WorkGroupConfiguration"].(map[string]any)
		rc := c["ResultConfiguration"].(map[string]any)
		diff(t, "workgroup", []any{wg["Name"], c["EnforceWorkGroupConfiguration"], c["BytesScannedCutoffPerQuery"],
			flat(rc["OutputLocation"]), rc["EncryptionConfiguration"]},
			[]any{tc.name, true, tc.limitBytes, "s3://" + AthenaResultsID + "/", map[string]any{"EncryptionOption": "SSE_S3"}})
		b := resources(t, tmpl, "AWS::S3::Bucket")[AthenaResultsID]
		if b["BucketEncryption"] == nil || b["PublicAccessBlockConfiguration"] == nil {
			t.Errorf("results bucket: %v", b)
		}
	}
}

// TestDetectConfig: -c detectConfig=FILE passes the document to the Lambda as
// FLOWQ_CONFIG (and drops the single-setting variables it replaces); a bad file
// fails the synth naming the file and line.
func TestDetectConfig(t *testing.T) {
	fn := resources(t, synth(t, "tradai", s3Context).pipeline, "AWS::Lambda::Function")[IngestFunctionID]
	vars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	want, _ := readFile(t, "testdata/detect.yaml")
	diff(t, "FLOWQ_CONFIG", vars["FLOWQ_CONFIG"], want)
	for _, k := range []string{"FLOWQ_WATCH_CIDRS", "FLOWQ_EXFIL_BYTES", "FLOWQ_WINDOW"} {
		if _, ok := vars[k]; ok {
			t.Errorf("%s set beside FLOWQ_CONFIG", k)
		}
	}
	_, err := ConfigFromContext(func(k string) (string, bool) {
		v, ok := map[string]string{"detectConfig": "testdata/detect-bad.yaml"}[k]
		return v, ok
	})
	if err == nil || !strings.Contains(err.Error(), "detectConfig: testdata/detect-bad.yaml:3: ") || !strings.Contains(err.Error(), "exfil-byts") {
		t.Errorf("bad file: %v", err)
	}
}
