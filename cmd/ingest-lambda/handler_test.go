package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect/ddbstate"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// seedFormat is the seed VPC's flow-log format (infra's FlowLogFormat).
const seedFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} " +
	"${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} " +
	"${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} " +
	"${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${flow-direction} ${traffic-path} " +
	"${pkt-src-aws-service} ${pkt-dst-aws-service}"

const (
	lakeBucket = "flowq-lake"
	logGroup   = "/flowq/vpc-flow-logs"
)

// testStart is the first record's start: recent, so detector state is live.
var testStart = time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)

// traffic returns n ordinary flow-log records of the seed VPC over two hours
// with synth's four incidents injected, without the header line (CloudWatch
// Logs events carry records only), and the alerts the incidents must raise.
func traffic(n int) ([]byte, []string) {
	text, inc := synth.Scenario(7, parse.MustParseFormat(seedFormat), testStart, 2*time.Hour, n, testStart.Add(10*time.Minute))
	_, text, _ = bytes.Cut(text, []byte{'\n'})
	var want []string
	for _, in := range inc {
		for _, a := range in.Alerts {
			want = append(want, a.Detector+" "+a.Src+" "+a.Dst)
		}
	}
	slices.Sort(want)
	return text, slices.Compact(want)
}

// packFlows packages flow-log text as CloudWatch Logs does: one stream per
// ENI, several batches per stream.
func packFlows(t testing.TB, text []byte, maxEvents int) [][]byte {
	t.Helper()
	ps, err := cwlogs.Pack(text, cwlogs.PackOptions{
		Owner: synth.Account, LogGroup: logGroup, Filter: "flowq-ingest", MaxEvents: maxEvents,
		Stream: func(l []byte) string { return string(cwlogs.Field(l, 2)) + "-all" },
		Timestamp: func(l []byte) int64 {
			s, _ := strconv.ParseInt(string(cwlogs.Field(l, 10)), 10, 64)
			return s * 1000
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

type fixture struct {
	moto     *motoserver.Server
	s3       *s3.Client
	sqs      *sqs.Client
	queueURL string
	h        lambda.Handler
	raw      *handler
	logs     bytes.Buffer
	logsDone chan struct{}
	logW     *os.File
	metrics  *bytes.Buffer
	env      map[string]string
}

// logText ends logging and returns what the function logged.
func (f *fixture) logText() string {
	f.logW.Close()
	<-f.logsDone
	return f.logs.String()
}

// newFixture starts moto_server with the lake bucket and builds the
// handler through the function's own init path (environment included).
func newFixture(t *testing.T, extra map[string]string) *fixture {
	t.Helper()
	m := motoserver.Start(t)
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	f := &fixture{moto: m, metrics: &bytes.Buffer{}, logsDone: make(chan struct{})}
	f.s3 = s3.NewFromConfig(m.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := f.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(lakeBucket)}); err != nil {
		t.Fatal(err)
	}
	// As infra creates them: the state table, the alert topic with an SQS
	// subscription (raw delivery: the body is the alert).
	ctx, cfg := t.Context(), m.Config(t)
	if err := ddbstate.CreateTable(ctx, dynamodb.NewFromConfig(cfg), "flowq-state"); err != nil {
		t.Fatal(err)
	}
	snsc := sns.NewFromConfig(cfg)
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("flowq-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	f.sqs = sqs.NewFromConfig(cfg)
	q, err := f.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	f.queueURL = aws.ToString(q.QueueUrl)
	qa, err := f.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	f.env = map[string]string{envLake: "s3://" + lakeBucket + "/flows", envLogFormat: seedFormat,
		envStateTable: "flowq-state", envTopic: aws.ToString(topic.TopicArn)}
	for k, v := range extra {
		f.env[k] = v
	}
	// The function's own logger (lambdacontext's handler) writes to the
	// os.Stdout it finds when built: a pipe here.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	log := lambdacontext.NewLogger()
	os.Stdout = stdout
	f.logW = w
	go func() { io.Copy(&f.logs, r); close(f.logsDone) }()
	t.Cleanup(func() { w.Close() })
	h, err := initHandler(t.Context(), func(k string) string { return f.env[k] }, log, f.metrics)
	if err != nil {
		t.Fatal(err)
	}
	f.h, f.raw = lambda.NewHandler(h), h
	return f
}

var reqSeq int

// alerts drains the alert queue: "detector src dst" of each message, sorted.
func (f *fixture) alerts(t *testing.T) []string {
	t.Helper()
	var got []string
	for _, a := range f.alertMessages(t) {
		got = append(got, a.Detector+" "+a.Src+" "+a.Dst)
	}
	slices.Sort(got)
	return got
}

func (f *fixture) invoke(t *testing.T, payload []byte) (summary, error) {
	t.Helper()
	reqSeq++
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d", reqSeq)})
	out, err := f.h.Invoke(ctx, payload)
	if err != nil {
		return summary{}, err
	}
	var s summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return s, nil
}

// lakeRows reads every Parquet object of the lake back (pqarrow) as JSON
// rows, sorted, and the objects' keys and sizes.
func (f *fixture) lakeRows(t *testing.T) ([]string, map[string]int64) {
	t.Helper()
	ctx := t.Context()
	lake, err := store.Open(ctx, "s3://"+lakeBucket+"/flows", store.Options{S3: f.s3})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := lake.Objects(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := lake.LocalFiles(ctx, objs, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	var rows []string
	for i, p := range files {
		sizes[objs[i].Key] = objs[i].Size
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		err = store.ReadParquet(ctx, fh, nil, func(rec arrowRecord) error {
			rows = append(rows, jsonRows(rec)...)
			return nil
		})
		fh.Close()
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
	}
	slices.Sort(rows)
	return rows, sizes
}

// textRows parses flow-log text the way the pipeline does, as JSON rows.
func textRows(t *testing.T, text []byte) []string {
	t.Helper()
	r := parse.NewBytesReader(text, parse.Options{Format: parse.MustParseFormat(seedFormat)})
	defer r.Release()
	var rows []string
	for r.Next() {
		rows = append(rows, jsonRows(r.RecordBatch())...)
	}
	slices.Sort(rows)
	return rows
}

func TestCloudWatchLogsEndToEnd(t *testing.T) {
	f := newFixture(t, nil)
	text, wantAlerts := traffic(3000)
	payloads := packFlows(t, text, 200)
	streams := map[string]bool{}
	for _, p := range payloads {
		d, err := cwlogs.NewDecoder(cwlogs.Options{}).DecodeEvent(p)
		if err != nil {
			t.Fatal(err)
		}
		streams[d.LogStream] = true
	}
	if len(streams) < 5 || len(payloads) < 2*len(streams) {
		t.Fatalf("fixture has %d payloads over %d streams; want several of each", len(payloads), len(streams))
	}

	var total summary
	for _, p := range payloads {
		s, err := f.invoke(t, p)
		if err != nil {
			t.Fatal(err)
		}
		total.Records += s.Records
		total.BadLines += s.BadLines
		total.Alerts += s.Alerts
	}
	wantRows := textRows(t, text)
	if total.Records != int64(len(wantRows)) || total.BadLines != 0 {
		t.Errorf("stored %d records (%d bad), sent %d", total.Records, total.BadLines, len(wantRows))
	}
	gotRows, objects := f.lakeRows(t)
	if diff := cmp.Diff(gotRows, wantRows); diff != "" {
		t.Errorf("records in Parquet differ from records sent (-got +want)\n%s", diff)
	}
	if diff := cmp.Diff(f.alerts(t), wantAlerts); diff != "" {
		t.Errorf("alerts in SQS (-got +want)\n%s", diff)
	}
	if total.Alerts != len(wantAlerts) {
		t.Errorf("handler reported %d alerts, want %d", total.Alerts, len(wantAlerts))
	}

	// The same events again: the lake and the alerts stay as they were.
	var again summary
	for _, p := range payloads {
		s, err := f.invoke(t, p)
		if err != nil {
			t.Fatal(err)
		}
		again.Alerts += s.Alerts
	}
	gotRows2, objects2 := f.lakeRows(t)
	if diff := cmp.Diff(objects2, objects); diff != "" {
		t.Errorf("replay changed the lake's objects (-got +want)\n%s", diff)
	}
	if !slices.Equal(gotRows2, gotRows) {
		t.Error("replay changed the lake's records")
	}
	if again.Alerts != 0 {
		t.Errorf("replay raised %d alerts", again.Alerts)
	}
	if got := f.alerts(t); len(got) != 0 {
		t.Errorf("replay sent alerts: %v", got)
	}

	// Logs carry the request id; every invocation wrote one EMF line.
	if logs := f.logText(); !strings.Contains(logs, `requestId=req-`) && !strings.Contains(logs, `"requestId":"req-`) {
		t.Error("logs lack the request id")
	}
	checkEMF(t, f.metrics.Bytes(), 2*len(payloads))
}

func checkEMF(t *testing.T, out []byte, want int) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(out), []byte{'\n'})
	if len(lines) != want {
		t.Errorf("%d EMF lines, want %d", len(lines), want)
	}
	for _, l := range lines {
		var m struct {
			AWS struct {
				Timestamp         int64
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name, Unit string }
				}
			} `json:"_aws"`
			Records   *int64
			RequestID string `json:"requestId"`
		}
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("EMF line %q: %v", l, err)
		}
		if m.AWS.Timestamp == 0 || len(m.AWS.CloudWatchMetrics) != 1 || m.AWS.CloudWatchMetrics[0].Namespace != metricsNamespace ||
			len(m.AWS.CloudWatchMetrics[0].Metrics) < 6 || m.Records == nil || m.RequestID == "" {
			t.Fatalf("EMF line incomplete: %s", l)
		}
	}
}

func envelope(gz []byte) []byte { return cwlogs.EncodeGzip(gz) }

func TestBadPayloads(t *testing.T) {
	f := newFixture(t, map[string]string{envMaxBytes: strconv.Itoa(4 << 20)})
	good, _ := traffic(50)
	lines := bytes.SplitAfter(good, []byte{'\n'})
	ev := func(msgs ...string) events.CloudwatchLogsData {
		d := events.CloudwatchLogsData{MessageType: cwlogs.DataMessage, Owner: synth.Account, LogGroup: logGroup, LogStream: "eni-0bad-all"}
		for i, m := range msgs {
			d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{ID: cwlogs.EventID(int64(i), uint64(i)), Timestamp: int64(i), Message: m})
		}
		return d
	}
	encode := func(d events.CloudwatchLogsData) []byte {
		b, err := cwlogs.Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gzipJSON := func(js string) []byte {
		b, err := cwlogs.EncodeJSON([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bomb, _ := cwlogs.EncodeJSON(bytes.Repeat([]byte(" "), 16<<20))
	var mixed []string
	for i, l := range lines[:10] {
		mixed = append(mixed, strings.TrimSuffix(string(l), "\n"))
		if i == 4 {
			mixed = append(mixed, "5 123456789012 eni-0bad this is not a flow-log record")
		}
	}
	tests := []struct {
		name             string
		payload          []byte
		wantErr          string // "" for success
		records, badLine int64
		skipped          int
	}{
		{"success", encode(ev(mixed[:5]...)), "", 5, 0, 0},
		{"not JSON", []byte("hello"), "neither", 0, 0, 0},
		{"unknown event", []byte(`{"detail":{}}`), "neither", 0, 0, 0},
		{"not base64", []byte(`{"awslogs":{"data":"%%%not-base64%%%"}}`), "base64", 0, 0, 0},
		{"not gzip", []byte(`{"awslogs":{"data":"aGVsbG8gd29ybGQ="}}`), "gzip", 0, 0, 0},
		{"gzip bomb", bomb, "size cap", 0, 0, 0},
		{"JSON missing fields", gzipJSON(`{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"x"}]}`), "logGroup", 0, 0, 0},
		{"truncated JSON", gzipJSON(`{"messageType":"DATA_MESSAGE","logGroup":"g","logStr`), "not valid subscription JSON", 0, 0, 0},
		{"empty batch", encode(ev()), "", 0, 0, 1},
		{"control message", encode(events.CloudwatchLogsData{MessageType: cwlogs.ControlMessage, Owner: "CloudwatchLogs",
			LogEvents: []events.CloudwatchLogsLogEvent{{ID: "", Timestamp: 1, Message: "CWL CONTROL MESSAGE: Checking health of destination Lambda function."}}}), "", 0, 0, 1},
		{"one malformed line among good ones", encode(ev(mixed...)), "", 10, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := f.invoke(t, tt.payload)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Records != tt.records || s.BadLines != tt.badLine || s.Skipped != tt.skipped {
				t.Errorf("got %+v, want %d records, %d bad lines, %d skipped", s, tt.records, tt.badLine, tt.skipped)
			}
		})
	}
	// The malformed line was logged with its event id.
	if logs := f.logText(); !strings.Contains(logs, "rejected flow-log lines") || !strings.Contains(logs, "[event "+cwlogs.EventID(5, 5)) {
		t.Errorf("the bad line's sample is not logged with its event id:\n%s", logs)
	}
	_ = envelope
}

func TestConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := loadConfig(env(envLake, "s3://b/p"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Detect.ExfilBytes != 1_000_000 || c.Detect.Window != time.Hour || fmt.Sprint(c.Detect.Watch) != "[10.0.0.0/16]" ||
		c.Format.String() != parse.DefaultFormat().String() || c.StateTable != "" || c.TopicARN != "" {
		t.Errorf("defaults: %+v", c)
	}
	c, err = loadConfig(env(envLake, "s3://b/p", envWatch, "10.1.0.0/16, 192.168.0.0/24", envExfilBytes, "5000", envWindow, "15m",
		envLogFormat, seedFormat, envStateTable, "t", envTopic, "arn:aws:sns:us-east-1:123456789012:alerts"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Detect.ExfilBytes != 5000 || c.Detect.Window != 15*time.Minute || len(c.Detect.Watch) != 2 || c.Format.Len() != 27 {
		t.Errorf("overrides: %+v", c)
	}
	bad := []struct {
		name, want string
		env        func(string) string
	}{
		{"no lake", envLake + " is required", env()},
		{"lake not s3", "want s3://bucket/prefix", env(envLake, "/tmp/lake")},
		{"bad format", "did you mean", env(envLake, "s3://b", envLogFormat, "${version} ${srcadr}")},
		{"bad cidr", envWatch, env(envLake, "s3://b", envWatch, "10.0.0.0/33")},
		{"bad bytes", envExfilBytes, env(envLake, "s3://b", envExfilBytes, "lots")},
		{"bad window", envWindow, env(envLake, "s3://b", envWindow, "hourly")},
		{"window too short", "window", env(envLake, "s3://b", envWindow, "10s")},
		{"bad topic", envTopic, env(envLake, "s3://b", envTopic, "alerts")},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	// Several problems are reported together.
	_, err = loadConfig(env(envWatch, "x", envWindow, "y"))
	if err == nil || !strings.Contains(err.Error(), envLake) || !strings.Contains(err.Error(), envWatch) || !strings.Contains(err.Error(), envWindow) {
		t.Errorf("err = %v, want all three problems", err)
	}
}

// TestDeadline: a context that has run out fails the event (Lambda retries
// it) instead of half-processing it silently.
func TestDeadline(t *testing.T) {
	h, _, _ := benchHandler(t)
	payload, _ := benchPayload(t, 64<<10)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := lambda.NewHandler(h).Invoke(ctx, payload); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
}
