package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// envelope is an SNS notification as an SQS subscription without raw
// delivery receives it.
type envelope struct {
	Type              string
	Subject           string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

func TestSNSOnMoto(t *testing.T) {
	srv := motoserver.Start(t)
	cfg := srv.Config(t)
	ctx := context.Background()
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("flowq-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	queue := func(name string, raw bool) string {
		q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
		if err != nil {
			t.Fatal(err)
		}
		in := &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes["QueueArn"])}
		if raw {
			in.Attributes = map[string]string{"RawMessageDelivery": "true"}
		}
		if _, err := snsc.Subscribe(ctx, in); err != nil {
			t.Fatal(err)
		}
		return aws.ToString(q.QueueUrl)
	}
	envQ, rawQ := queue("alerts-envelope", false), queue("alerts-raw", true)

	one := sample()
	big := sample()
	big.Detector, big.Src, big.Dst = detect.PortScan, "10.0.12.51", "10.0.21.100"
	big.Severity = detect.SeverityMedium
	big.ID = detect.AlertID(big.Key())
	big.Title = "portscan 10.0.12.51 -> 10.0.21.100 50 ports"
	for i := range 3000 { // ~600 KB of evidence: must be trimmed
		ev := big.Evidence[0]
		ev.DstPort = i
		big.Evidence = append(big.Evidence, ev)
	}
	rej := sample()
	rej.Detector, rej.Dst, rej.Severity, rej.Title = detect.Reject, "", detect.SeverityMedium, "reject 10.0.11.50 3 rejected"
	rej.ID = detect.AlertID(rej.Key())

	sink := alert.NewSNS(snsc, aws.ToString(topic.TopicArn), alert.SNSOptions{})
	if err := sink.Send(ctx, []detect.Alert{one}); err != nil { // Publish
		t.Fatal(err)
	}
	if err := sink.Send(ctx, []detect.Alert{big, rej}); err != nil { // PublishBatch
		t.Fatal(err)
	}
	want := map[string]detect.Alert{one.ID: one, big.ID: big, rej.ID: rej}

	receive := func(url string) []string {
		var bodies []string
		var attrs []map[string]string
		for range 10 {
			out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
				MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range out.Messages {
				bodies = append(bodies, aws.ToString(m.Body))
				a := map[string]string{}
				for k, v := range m.MessageAttributes {
					a[k] = aws.ToString(v.StringValue)
				}
				attrs = append(attrs, a)
			}
			if len(bodies) >= len(want) {
				break
			}
		}
		if len(bodies) != len(want) {
			t.Fatalf("queue %s: %d messages, want %d", url, len(bodies), len(want))
		}
		if strings.HasSuffix(url, "raw") {
			for i, a := range attrs {
				var got detect.Alert
				if err := json.Unmarshal([]byte(bodies[i]), &got); err != nil {
					t.Fatal(err)
				}
				if a["detector"] != got.Detector || a["severity"] != got.Severity || a["alert_id"] != got.ID {
					t.Errorf("raw message attributes %v for alert %s/%s", a, got.Detector, got.ID)
				}
			}
		}
		return bodies
	}

	for _, body := range receive(envQ) {
		var env envelope
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatalf("envelope: %v: %s", err, body)
		}
		var got detect.Alert
		if err := json.Unmarshal([]byte(env.Message), &got); err != nil {
			t.Fatalf("message: %v", err)
		}
		w, ok := want[got.ID]
		if !ok {
			t.Fatalf("unexpected alert %s", got.ID)
		}
		if wantSubj := "[flowq] " + w.Title; env.Subject != wantSubj {
			t.Errorf("subject %q, want %q", env.Subject, wantSubj)
		}
		if env.MessageAttributes["detector"].Value != w.Detector || env.MessageAttributes["severity"].Value != w.Severity ||
			env.MessageAttributes["detector"].Type != "String" {
			t.Errorf("attributes %+v of %s", env.MessageAttributes, w.Detector)
		}
		if got.Src != w.Src || got.Dst != w.Dst || got.Bytes != w.Bytes || !got.WindowStart.Equal(w.WindowStart) {
			t.Errorf("body %+v, want %+v", got, w)
		}
		if len(env.Message) > alert.MaxMessageBytes {
			t.Errorf("message of %d bytes", len(env.Message))
		}
		if got.ID == big.ID && (len(got.Evidence) == 0 || len(got.Evidence) >= len(big.Evidence)) {
			t.Errorf("big alert kept %d of %d evidence records, want trimmed", len(got.Evidence), len(big.Evidence))
		}
	}
	receive(rawQ)
}

// fakeSNS fails entries and calls as scripted.
type fakeSNS struct {
	mu        sync.Mutex
	calls     int
	failFirst int  // entries failed (server fault) on the first call
	sender    bool // one entry always fails with a sender fault
	published map[string]int
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published[aws.ToString(in.Subject)]++
	return &sns.PublishOutput{}, nil
}

func (f *fakeSNS) PublishBatch(_ context.Context, in *sns.PublishBatchInput, _ ...func(*sns.Options)) (*sns.PublishBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(in.PublishBatchRequestEntries) > 10 {
		return nil, errors.New("too many entries")
	}
	out := &sns.PublishBatchOutput{}
	for i, e := range in.PublishBatchRequestEntries {
		switch {
		case f.calls == 1 && i < f.failFirst:
			out.Failed = append(out.Failed, snstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError")})
		case f.sender && strings.Contains(aws.ToString(e.Subject), "10.0.0.13"):
			out.Failed = append(out.Failed, snstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InvalidParameter"), SenderFault: true})
		default:
			f.published[aws.ToString(e.Subject)]++
			out.Successful = append(out.Successful, snstypes.PublishBatchResultEntry{Id: e.Id})
		}
	}
	return out, nil
}

func TestSNSRetriesFailedEntries(t *testing.T) {
	var alerts []detect.Alert
	for i := range 23 {
		a := sample()
		a.Src = fmt.Sprintf("10.0.0.%d", i)
		a.Title = "exfiltration " + a.Src
		a.ID = detect.AlertID(a.Key())
		alerts = append(alerts, a)
	}
	for _, tc := range []struct {
		name      string
		fake      *fakeSNS
		wantErr   bool
		published int
	}{
		{"server faults retried", &fakeSNS{failFirst: 4}, false, 23},
		{"sender fault reported", &fakeSNS{sender: true}, true, 22},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fake.published = map[string]int{}
			sink := alert.NewSNS(tc.fake, "arn:aws:sns:us-east-1:123456789012:alerts", alert.SNSOptions{Backoff: time.Millisecond})
			err := sink.Send(context.Background(), alerts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if len(tc.fake.published) != tc.published {
				t.Errorf("%d alerts published, want %d", len(tc.fake.published), tc.published)
			}
			for s, n := range tc.fake.published {
				if n != 1 {
					t.Errorf("%s published %d times", s, n)
				}
			}
		})
	}
}

// TestSubjectLongNames: names (Name tags run to 256 characters; CDK names
// instances by their construct path) give way in a subject that would be
// too long, not what follows them: the destination and the amount or the
// port count stay.
func TestSubjectLongNames(t *testing.T) {
	long := "TradaiProdStack/BackendService/Service/TaskDefinition/web"
	db := "TradaiProdStack/Database/Instance/PostgresPrimary"
	for _, tc := range []struct {
		a          detect.Alert
		dst, after string // kept: the destination, and what ends the title
	}{
		{detect.Alert{Detector: detect.Exfiltration, Title: "exfiltration 10.0.11.50 (" + long + ") -> 203.0.113.77 1.4 MB", SrcResource: &detect.Resource{Name: long}},
			"-> 203.0.113.77 ", " 1.4 MB"},
		{detect.Alert{Detector: detect.PortScan, Title: "portscan 10.0.11.50 (" + long + ") -> 10.0.21.100 (" + db + ") 120 ports", SrcResource: &detect.Resource{Name: long}, DstResource: &detect.Resource{Name: db}},
			"-> 10.0.21.100 (", ") 120 ports"},
		{detect.Alert{Detector: detect.Exfiltration, Title: "exfiltration 10.0.11.50 (" + strings.Repeat("x", 256) + ") -> 203.0.113.77 1.4 MB", SrcResource: &detect.Resource{Name: strings.Repeat("x", 256)}},
			"-> 203.0.113.77 ", " 1.4 MB"},
	} {
		got := alert.Subject("[flowq] ", &tc.a)
		if len(got) > alert.MaxSubject || !strings.Contains(got, tc.dst) || !strings.HasSuffix(got, tc.after) || !strings.HasPrefix(got, "[flowq] "+tc.a.Detector+" 10.0.11.50 (") {
			t.Errorf("subject %q (%d bytes): want at most %d bytes, the source, %q and %q kept", got, len(got), alert.MaxSubject, tc.dst, tc.after)
		}
	}
	// A short title is kept whole.
	a := detect.Alert{Detector: detect.Exfiltration, Title: "exfiltration 10.0.11.50 (tradai-backend-api) -> 203.0.113.77 1.4 MB", SrcResource: &detect.Resource{Name: "tradai-backend-api"}}
	if got := alert.Subject("[flowq] ", &a); got != "[flowq] "+a.Title {
		t.Errorf("short subject %q, want %q", got, "[flowq] "+a.Title)
	}
}
