package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/synth"
)

// scenarioDir holds the scenario that cmd/flowq's detect tests use: its
// flows, a tuned detection configuration and what flowq detect --config
// raises with it.
var scenarioDir = filepath.Join("..", "..", "testdata", "scenario")

// configAlert is the part of an alert both sides must agree on. Bytes and
// counts are the totals when the alert became due, which depend on how the
// records were batched (64 Ki rows for flowq detect, one CloudWatch Logs
// event for the Lambda), so they are not compared.
type configAlert struct {
	ID          string    `json:"id"`
	Detector    string    `json:"detector"`
	Src         string    `json:"src"`
	Dst         string    `json:"dst"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Threshold   int64     `json:"threshold"`
}

func sortAlerts(as []configAlert) {
	slices.SortFunc(as, func(a, b configAlert) int { return strings.Compare(a.ID, b.ID) })
}

// TestConfigDocumentLikeFlowqDetect: the Lambda, given the scenario's
// detection configuration in FLOWQ_CONFIG and the scenario's records as
// CloudWatch Logs events, publishes exactly the alerts flowq detect --config
// raises over the same records (testdata/scenario/expected-config.jsonl,
// checked by cmd/flowq's TestDetectScenarioConfig).
func TestConfigDocumentLikeFlowqDetect(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(scenarioDir, "detect.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(scenarioDir, "flows.log"))
	if err != nil {
		t.Fatal(err)
	}
	_, text, _ = bytes.Cut(text, []byte{'\n'}) // the header: CloudWatch Logs events carry records only
	f := newFixture(t, map[string]string{envConfig: string(doc), envLogFormat: synth.DetectFormat.String()})
	for _, p := range packFlows(t, text, 200) {
		if _, err := f.invoke(t, p); err != nil {
			t.Fatal(err)
		}
	}
	var got []configAlert
	for {
		out, err := f.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			var a configAlert
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &a); err != nil {
				t.Fatal(err)
			}
			got = append(got, a)
			if _, err := f.sqs.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(f.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	golden, err := os.ReadFile(filepath.Join(scenarioDir, "expected-config.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var want []configAlert
	for l := range strings.SplitSeq(strings.TrimSpace(string(golden)), "\n") {
		var a configAlert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		want = append(want, a)
	}
	sortAlerts(got)
	sortAlerts(want)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Lambda alerts vs flowq detect --config (-got +want):\n%s", diff)
	}
}

// TestConfigDocument: FLOWQ_CONFIG's errors name the variable and line; the
// earlier variables still work alone, and beside the document they are an
// error that says how to move them.
func TestConfigDocument(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{envLake: "s3://b/p"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := loadConfig(env(envConfig, "exfil-bytes: 5MB\nexfil-budget: [50MB/24h]\nallow-src: [10.0.1.10]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Detect.ExfilBytes != 5_000_000 || len(c.Detect.ExfilBudgets) != 1 || len(c.Detect.ExfilAllowSrc) != 1 {
		t.Errorf("detect config = %+v", c.Detect)
	}
	_, err = loadConfig(env(envConfig, "window: 1h\nexfil-bytes: lots\n"))
	if err == nil || !strings.Contains(err.Error(), "FLOWQ_CONFIG:2: exfil-bytes:") {
		t.Errorf("bad document: %v", err)
	}
	c, err = loadConfig(env(envWatch, "10.1.0.0/16", envExfilBytes, "2000000", envWindow, "15m"))
	if err != nil || c.Detect.ExfilBytes != 2_000_000 || c.Detect.Window != 15*time.Minute || c.Detect.Watch[0].String() != "10.1.0.0/16" {
		t.Errorf("legacy variables: %+v, %v", c.Detect, err)
	}
	_, err = loadConfig(env(envConfig, "window: 1h\n", envExfilBytes, "2000000"))
	if err == nil || !strings.Contains(err.Error(), `FLOWQ_EXFIL_BYTES is set beside FLOWQ_CONFIG: move it into the document as "exfil-bytes: 2000000"`) {
		t.Errorf("both: %v", err)
	}
	if c, _ := loadConfig(env()); c.Detect.ExfilBytes != detect.DefaultConfig().ExfilBytes {
		t.Errorf("defaults: %+v", c.Detect)
	}
}

// TestLateRecords: records older than the retention are stored but not
// judged, and never silently: the response and the EMF line count them
// (metric LateRecords, which the CDK app alarms on) and the log quotes one.
func TestLateRecords(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(scenarioDir, "flows.log")) // 2026-11-20: days old
	if err != nil {
		t.Fatal(err)
	}
	_, text, _ = bytes.Cut(text, []byte{'\n'})
	f := newFixture(t, map[string]string{envLogFormat: synth.DetectFormat.String()})
	s, err := f.invoke(t, packFlows(t, text, 200)[0])
	if err != nil {
		t.Fatal(err)
	}
	if s.Records == 0 || s.Late == 0 || s.Late > s.Records {
		t.Fatalf("summary %+v: want late records", s)
	}
	var emf struct{ LateRecords int64 }
	if err := json.Unmarshal(bytes.TrimSpace(f.metrics.Bytes()), &emf); err != nil {
		t.Fatal(err)
	}
	if emf.LateRecords != s.Late {
		t.Errorf("EMF LateRecords = %d, want %d", emf.LateRecords, s.Late)
	}
	logs := f.logText()
	if !strings.Contains(logs, "late records not judged") || !strings.Contains(logs, "2026-11-20T") || !strings.Contains(logs, "req-") {
		t.Errorf("logs lack the late records' warning with a sample and the request id:\n%s", logs)
	}
}
