package collect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/collect"
	"github.com/flowq/flowq/internal/collect/collecttest"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/ddbstate"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

var seq atomic.Int64

// env is one deployment on moto_server: a delivery bucket, a lake, the
// state table, an alert topic with a queue subscribed, and a clock.
type env struct {
	srv      *motoserver.Server
	s3       *s3.Client
	db       *dynamodb.Client
	sns      *sns.Client
	sqs      *sqs.Client
	bucket   string
	table    string
	topic    string
	queueURL string
	lake     *store.Lake
	logs     *syncBuffer

	mu  sync.Mutex
	now time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, srv *motoserver.Server) *env {
	t.Helper()
	ctx := t.Context()
	cfg := srv.Config(t)
	n := seq.Add(1)
	e := &env{srv: srv, db: dynamodb.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg),
		s3:     s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true }),
		bucket: fmt.Sprintf("delivery-%d", n), table: fmt.Sprintf("flowq-state-%d", n), logs: &syncBuffer{}}
	for _, b := range []string{e.bucket, e.bucket + "-lake"} {
		if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ddbstate.CreateTable(ctx, e.db, e.table); err != nil {
		t.Fatal(err)
	}
	topic, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(fmt.Sprintf("alerts-%d", n))})
	if err != nil {
		t.Fatal(err)
	}
	e.topic = aws.ToString(topic.TopicArn)
	q, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("alerts-%d", n))})
	if err != nil {
		t.Fatal(err)
	}
	e.queueURL = aws.ToString(q.QueueUrl)
	qa, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	e.lake, err = store.Open(ctx, "s3://"+e.bucket+"-lake/flows", store.Options{S3: e.s3})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) setNow(t time.Time) {
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// faults wrap the pipeline's parts to fail between its steps.
type faults struct {
	afterLakeWrite bool // the lake write succeeds, then fails
	beforePublish  bool // the sink fails without publishing
	afterPublish   bool // the sink publishes, then the ack fails
	hook           func(step string) error
	config         *detect.Config // nil: the defaults
	every          time.Duration  // Config.CheckpointEvery
	stream         int64          // Config.StreamBytes
}

type failLake struct{ pipeline.Lake }

func (f failLake) Write(ctx context.Context, id string, recs []arrow.RecordBatch) (store.WriteResult, error) {
	if _, err := f.Lake.Write(ctx, id, recs); err != nil {
		return store.WriteResult{}, err
	}
	return store.WriteResult{}, fmt.Errorf("injected crash after the lake write")
}

type failSink struct{ pipeline.Sink }

func (f failSink) Send(context.Context, []detect.Alert) error {
	return fmt.Errorf("injected crash before publishing")
}

type failAck struct{ pipeline.Detector }

func (f failAck) Ack(context.Context, []detect.Alert) error {
	return fmt.Errorf("injected crash after publishing, before the ack")
}

// collector returns a new collector (a new Lambda instance: fresh engine,
// state restored from the checkpoint) for the env's delivery, with f's
// faults.
func (e *env) collector(t *testing.T, f faults) *collect.Collector {
	t.Helper()
	st := collect.NewState(ddbstate.NewLedger(e.db, e.table, 0))
	dc := detect.DefaultConfig()
	if f.config != nil {
		dc = *f.config
	}
	eng, err := detect.New(dc, st, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	cfg := collect.Config{
		Bucket: e.bucket, Objects: e.s3, Meta: e.lake, Lake: e.lake, Detector: eng, State: st,
		Sink: alert.NewSNS(e.sns, e.topic, alert.SNSOptions{}), Format: synth.DetectFormat,
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil)), Now: e.clock, Hook: f.hook, CheckpointEvery: f.every,
		StreamBytes: f.stream,
	}
	if f.afterLakeWrite {
		cfg.Lake = failLake{e.lake}
	}
	if f.beforePublish {
		cfg.Sink = failSink{cfg.Sink}
	}
	if f.afterPublish {
		cfg.Detector = failAck{eng}
	}
	c, err := collect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deliver uploads text as AWS's S3 delivery would and returns the objects.
func (e *env) deliver(t *testing.T, text []byte) []collecttest.Object {
	t.Helper()
	objs, err := collecttest.Deliver(text, synth.DetectFormat, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := collecttest.Upload(t.Context(), e.s3, e.bucket, objs); err != nil {
		t.Fatal(err)
	}
	return objs
}

// published drains the alert queue: the ids of the messages, sorted, with
// repeats.
func (e *env) published(t *testing.T) []string {
	t.Helper()
	var got []string
	for {
		out, err := e.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			var a detect.Alert
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &a); err != nil {
				t.Fatalf("alert message %q: %v", aws.ToString(m.Body), err)
			}
			got = append(got, a.ID+" "+a.Detector+" "+a.Src+" "+a.Dst)
			if _, err := e.sqs.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(got)
	return got
}

// lakeRecords counts the lake's records, and the distinct (src, dst,
// start, bytes) rows among them.
func (e *env) lakeRecords(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := e.lake.Scan(t.Context(), nil, func(rec arrow.RecordBatch) error { n += rec.NumRows(); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// lines counts the records of flow-log text (lines that are not blank or
// a header), independently of the parser.
func lines(text []byte) int64 {
	var n int64
	for _, l := range bytes.Split(text, []byte{'\n'}) {
		if len(bytes.TrimSpace(l)) > 0 && !bytes.HasPrefix(l, []byte("version")) {
			n++
		}
	}
	return n
}

// startHours counts the records of flow-log text by the hour (Unix
// seconds) their start is in, independently of the parser.
func startHours(text []byte) map[int64]int64 {
	col := synth.DetectFormat.Index(parse.ColStart)
	out := map[int64]int64{}
	for _, l := range bytes.Split(text, []byte{'\n'}) {
		f := bytes.Fields(l)
		if len(f) <= col || bytes.HasPrefix(l, []byte("version")) {
			continue
		}
		v, err := strconv.ParseInt(string(f[col]), 10, 64)
		if err != nil {
			panic(fmt.Sprintf("line %q: start: %v", l, err))
		}
		out[v-v%3600]++
	}
	return out
}

// deliverHolding packages the scenario's text as AWS delivers it and
// uploads every object (first) but the one named at hour0 + 35 minutes
// (held: the port scan runs from 14:36 for a minute, its records end in
// that file), which it returns for the test to upload later.
func (e *env) deliverHolding(t *testing.T, text []byte) (held, first []collecttest.Object) {
	t.Helper()
	objs, err := collecttest.Deliver(text, synth.DetectFormat, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.At.Equal(hour0.Add(35 * time.Minute)) {
			held = append(held, o)
		} else {
			first = append(first, o)
		}
	}
	if len(held) != 1 {
		t.Fatalf("no file for 14:35 among %d", len(objs))
	}
	if err := collecttest.Upload(t.Context(), e.s3, e.bucket, first); err != nil {
		t.Fatal(err)
	}
	return held, first
}
