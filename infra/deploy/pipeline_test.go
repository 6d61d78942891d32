package deploy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/flowq/flowq/infra/iampolicy"
	"github.com/flowq/flowq/infra/stacks"
	"github.com/flowq/flowq/internal/store"
)

// TestS3Delivery deploys the pipeline with -c flowLogDestination=s3 for a VPC made
// outside the app (beside the preset deployments, under -c env=s3 in the same
// account and region), reads the flow log, the bucket's encryption and its
// notification back, then puts a flow-log object into the bucket as AWS names and
// writes it, and runs the deployed function's code (cmd/ingest-lambda, built for
// this machine, with the deployed function's environment, behind a local Lambda
// runtime API) on the S3 event the bucket's notification would send. The records
// must end in the lake, as one source, with the values written.
func TestS3Delivery(t *testing.T) {
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
	dir, out, err := m.deploy(t, "preset=tradai", "env=s3", "vpcId="+vpcID, "flowLogDestination=s3")
	if err != nil {
		t.Fatalf("cdk deploy -c flowLogDestination=s3: %v\n%s", err, tail(out))
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

	// The notification as S3 holds it: ObjectCreated → the deployed function.
	fn, err := m.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &fnName})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := s3c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	var target, events string
	rules := map[string]string{}
	if len(nc.LambdaFunctionConfigurations) == 1 {
		lc := nc.LambdaFunctionConfigurations[0]
		target, events = aws.ToString(lc.LambdaFunctionArn), fmt.Sprint(lc.Events)
		if lc.Filter != nil && lc.Filter.Key != nil {
			for _, r := range lc.Filter.Key.FilterRules {
				rules[strings.ToLower(string(r.Name))] = aws.ToString(r.Value)
			}
		}
	} else {
		// moto's CloudFormation does not apply a bucket's NotificationConfiguration:
		// read it from the deployed template, with its references resolved to the
		// deployed resources.
		t.Logf("moto did not apply the bucket notification (API: %d Lambda configurations); checked in the template", len(nc.LambdaFunctionConfigurations))
		target, events, rules = templateNotification(t, tmpl.Resources[stacks.FlowLogBucketID].Properties, map[string]string{
			stacks.IngestFunctionID + ".Arn": aws.ToString(fn.FunctionArn), "AWS::AccountId": "123456789012",
		})
	}
	diff(t, "notification", []any{target, events, rules},
		[]any{aws.ToString(fn.FunctionArn), "[s3:ObjectCreated:*]",
			map[string]string{"prefix": "AWSLogs/123456789012/vpcflowlogs/", "suffix": ".log.gz"}})

	// A flow-log object as AWS writes one: gzip, a header of field names, then the
	// records, under the hourly key layout.
	hour := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	recs := deliveredRecords(hour)
	key := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/30/10/" +
		"123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f67890_20261130T1005Z_3f1e2d4c.log.gz"
	if !strings.HasPrefix(key, rules["prefix"]) || !strings.HasSuffix(key, rules["suffix"]) {
		t.Fatalf("key %s does not match the notification filter %v", key, rules)
	}
	body := gzipText(t, recs)
	put, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	event := s3Event(bucket, key, int64(len(body)), strings.Trim(aws.ToString(put.ETag), `"`), hour)

	// The deployed function's code on that event.
	env := map[string]string{}
	for k, v := range fn.Environment.Variables {
		env[k] = v
	}
	resp, logs := runLambda(t, env, endpoint, fnName, event)
	var sum struct {
		Input    string `json:"input"`
		Records  int64  `json:"records"`
		BadLines int64  `json:"bad_lines"`
		Objects  int    `json:"objects"`
	}
	if err := json.Unmarshal(resp, &sum); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	diff(t, "invocation", []any{sum.Input, sum.Records, sum.BadLines}, []any{"s3", int64(len(recs)), int64(0)})
	checkMetricFilters(t, tmpl, logs, map[string]float64{"Records": float64(len(recs)), "LateRecords": 0})

	// The lake, read back through its own reader: one source named after the object,
	// holding exactly the records written.
	lake, err := store.Open(ctx, env["FLOWQ_LAKE"], store.Options{S3: s3c})
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := lake.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Records != int64(len(recs)) || !strings.Contains(srcs[0].Name, key) {
		t.Errorf("lake sources: %+v", srcs)
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

	// Parquet objects sit in the records' hour, as Athena's projection expects.
	objs, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &lakeBucket, Prefix: aws.String("flows/year=2026/month=11/day=30/hour=10/")})
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

// templateNotification reads a bucket's single Lambda notification from its
// template properties: target, events and key filter rules, with Fn::GetAtt and Ref
// resolved from values.
func templateNotification(t *testing.T, props map[string]any, values map[string]string) (string, string, map[string]string) {
	t.Helper()
	resolve := func(v any) string {
		var walk func(v any) string
		walk = func(v any) string {
			switch v := v.(type) {
			case string:
				return v
			case map[string]any:
				if r, ok := v["Ref"].(string); ok {
					return values[r]
				}
				if g, ok := v["Fn::GetAtt"].([]any); ok {
					return values[fmt.Sprint(g[0])+"."+fmt.Sprint(g[1])]
				}
				if j, ok := v["Fn::Join"].([]any); ok {
					var parts []string
					for _, p := range j[1].([]any) {
						parts = append(parts, walk(p))
					}
					return strings.Join(parts, j[0].(string))
				}
			}
			t.Fatalf("unresolved %v", v)
			return ""
		}
		return walk(v)
	}
	nc, _ := props["NotificationConfiguration"].(map[string]any)
	lcs, _ := nc["LambdaConfigurations"].([]any)
	if len(lcs) != 1 {
		t.Fatalf("template notification: %v", nc)
	}
	lc := lcs[0].(map[string]any)
	rules := map[string]string{}
	for _, r := range lc["Filter"].(map[string]any)["S3Key"].(map[string]any)["Rules"].([]any) {
		r := r.(map[string]any)
		rules[strings.ToLower(r["Name"].(string))] = resolve(r["Value"])
	}
	return resolve(lc["Function"]), fmt.Sprint([]any{lc["Event"]}), rules
}

// deliveredRecords are three records in flowq's format, with values from AWS's
// documented examples: an accepted HTTPS download, a rejected SSH probe, and S3
// traffic through the gateway endpoint.
func deliveredRecords(hour time.Time) []map[string]string {
	start := hour.Add(2 * time.Minute).Unix()
	base := map[string]string{
		"version": "5", "account-id": "123456789012", "interface-id": "eni-1235b8ca123456789", "protocol": "6",
		"start": fmt.Sprint(start), "end": fmt.Sprint(start + 57), "log-status": "OK", "vpc-id": "vpc-abcdefab012345678",
		"subnet-id": "subnet-aaaaaaaa012345678", "instance-id": "i-0c50d5961bcb2d47b", "tcp-flags": "19", "type": "IPv4",
		"region": "us-east-1", "az-id": "use1-az1", "sublocation-type": "-", "sublocation-id": "-",
		"traffic-path": "-", "pkt-src-aws-service": "-", "pkt-dst-aws-service": "-",
	}
	with := func(kv ...string) map[string]string {
		r := map[string]string{}
		for k, v := range base {
			r[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			r[kv[i]] = kv[i+1]
		}
		r["pkt-srcaddr"], r["pkt-dstaddr"] = r["srcaddr"], r["dstaddr"]
		return r
	}
	return []map[string]string{
		with("srcaddr", "203.0.113.12", "dstaddr", "10.0.1.5", "srcport", "443", "dstport", "49152", "packets", "14",
			"bytes", "15044", "action", "ACCEPT", "flow-direction", "ingress"),
		with("srcaddr", "198.51.100.7", "dstaddr", "10.0.1.5", "srcport", "51510", "dstport", "22", "packets", "1",
			"bytes", "40", "action", "REJECT", "flow-direction", "ingress", "tcp-flags", "2"),
		with("srcaddr", "10.0.1.5", "dstaddr", "52.95.128.179", "srcport", "34210", "dstport", "443", "packets", "20",
			"bytes", "3200", "action", "ACCEPT", "flow-direction", "egress", "traffic-path", "7", "pkt-dst-aws-service", "S3"),
	}
}

// gzipText writes the records as AWS's S3 text objects do: a header line of the
// format's field names, then one line per record.
func gzipText(t *testing.T, recs []map[string]string) []byte {
	var fields []string
	for _, f := range strings.Fields(stacks.FlowLogFormat) {
		fields = append(fields, strings.Trim(f, "${}"))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintln(zw, strings.Join(fields, " "))
	for _, r := range recs {
		var vals []string
		for _, f := range fields {
			v, ok := r[f]
			if !ok {
				t.Fatalf("record lacks %s", f)
			}
			vals = append(vals, v)
		}
		fmt.Fprintln(zw, strings.Join(vals, " "))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// s3Event is the notification S3 sends for a new object (event structure version
// 2.1, as AWS documents it; keys are URL-encoded).
func s3Event(bucket, key string, size int64, etag string, at time.Time) []byte {
	ev := map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": modesRegion,
		"eventTime": at.Add(6 * time.Minute).Format(time.RFC3339), "eventName": "ObjectCreated:Put",
		"userIdentity":      map[string]any{"principalId": "AWS:AROAEXAMPLE:delivery.logs.amazonaws.com"},
		"requestParameters": map[string]any{"sourceIPAddress": "10.0.0.1"},
		"responseElements":  map[string]any{"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "flowq-ingest",
			"bucket": map[string]any{"name": bucket, "ownerIdentity": map[string]any{"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::" + bucket},
			"object": map[string]any{"key": url.QueryEscape(key), "size": size, "eTag": etag, "sequencer": "0055AED6DCD90281E5"},
		},
	}}}
	b, _ := json.Marshal(ev)
	return b
}

// runLambda builds cmd/ingest-lambda for this machine (as the deployed bundle is
// built, but for the local OS and CPU), runs it against a local Lambda runtime API
// with the deployed function's environment pointed at moto, hands it event, and
// returns its response.
func runLambda(t *testing.T, env map[string]string, endpoint, fnName string, event []byte) ([]byte, []byte) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, stacks.IngestLambdaPackage)
	build.Dir = filepath.Dir(filepath.Dir(wd))
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the ingest Lambda: %v\n%s", err, out)
	}

	type result struct {
		body []byte
		err  bool
	}
	done := make(chan result, 1)
	const reqID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
	mux := http.NewServeMux()
	served := false
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if served { // one event: hold the next poll until the test ends
			<-r.Context().Done()
			return
		}
		served = true
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", reqID)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(2*time.Minute).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:"+modesRegion+":123456789012:function:"+fnName)
		w.Write(event)
	})
	reply := func(isErr bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			done <- result{b, isErr}
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", reply(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", reply(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", reply(true))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_REGION=" + modesRegion, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_LAMBDA_FUNCTION_NAME=" + fnName, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	select {
	case r := <-done:
		if r.err {
			t.Fatalf("the function failed: %s\n%s", r.body, logs.String())
		}
		t.Logf("function log:\n%s", logs.String())
		return r.body, logs.Bytes()
	case <-time.After(3 * time.Minute):
		t.Fatalf("no response from the function in 3 minutes:\n%s", logs.String())
	}
	return nil, nil
}

// checkMetricFilters applies the template's metric filters (moto's CloudWatch Logs
// runs none) to the lines the function printed: each filter's pattern, of the form
// { $.a.b[0].c = "v" }, must match exactly one line (the invocation's metrics), and
// its value ($.Field) must be there with the count wanted.
func checkMetricFilters(t *testing.T, tmpl template, logs []byte, want map[string]float64) {
	t.Helper()
	n := 0
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		n++
		pattern := fmt.Sprint(r.Properties["FilterPattern"])
		sel, val, ok := strings.Cut(strings.Trim(pattern, "{} "), " = ")
		if !ok || !strings.HasPrefix(sel, "$.") {
			t.Errorf("%s: pattern %q is not { $.selector = value }", id, pattern)
			continue
		}
		mt := r.Properties["MetricTransformations"].([]any)[0].(map[string]any)
		field := strings.TrimPrefix(fmt.Sprint(mt["MetricValue"]), "$.")
		var matched []map[string]any
		for _, line := range bytes.Split(logs, []byte("\n")) {
			var doc map[string]any
			if json.Unmarshal(line, &doc) != nil {
				continue
			}
			if v, ok := jsonPath(doc, strings.TrimPrefix(sel, "$.")); ok && fmt.Sprint(v) == strings.Trim(val, `"`) {
				matched = append(matched, doc)
			}
		}
		if len(matched) != 1 {
			t.Errorf("%s: %s matches %d lines of the function's log, want 1", id, pattern, len(matched))
			continue
		}
		if got, ok := matched[0][field].(float64); !ok || got != want[fmt.Sprint(mt["MetricName"])] {
			t.Errorf("%s: %s = %v in the matched line, want %v", id, mt["MetricValue"], matched[0][field], want[fmt.Sprint(mt["MetricName"])])
		}
	}
	if n != len(want) {
		t.Errorf("%d metric filters in the template, want %d", n, len(want))
	}
}

// jsonPath follows a.b[0].c through decoded JSON.
func jsonPath(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		name, idx, indexed := strings.Cut(part, "[")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[name]; !ok {
			return nil, false
		}
		if indexed {
			var i int
			fmt.Sscanf(idx, "%d]", &i)
			l, ok := v.([]any)
			if !ok || i >= len(l) {
				return nil, false
			}
			v = l[i]
		}
	}
	return v, true
}
