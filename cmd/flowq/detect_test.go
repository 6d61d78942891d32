package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

var updateScenario = flag.Bool("update-scenario", false, "regenerate testdata/scenario (flows and expected alerts)")

// The scenario: two hours of the seed VPC's ordinary traffic with the four
// synth incidents injected at 09:10.
var (
	scenarioStart     = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	scenarioIncidents = scenarioStart.Add(10 * time.Minute)
	scenarioDir       = filepath.Join("..", "..", "testdata", "scenario")
)

const (
	scenarioSeed    = 7
	scenarioRecords = 4000
)

// alertLine is the part of a flowq detect JSON line the golden file keeps.
type alertLine struct {
	ID          string    `json:"id"`
	Detector    string    `json:"detector"`
	Severity    string    `json:"severity"`
	Src         string    `json:"src"`
	Dst         string    `json:"dst"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Bytes       int64     `json:"bytes"`
	Count       int64     `json:"count"`
	Ports       []int     `json:"ports,omitempty"`
}

func readAlertLines(t *testing.T, out string) []alertLine {
	t.Helper()
	var got []alertLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var a alertLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("alert line %q: %v", l, err)
		}
		got = append(got, a)
	}
	return got
}

// scenarioLake ingests testdata/scenario/flows.log (checked against its
// generator, or rewritten with -update-scenario) into a temporary lake.
func scenarioLake(t *testing.T) string {
	t.Helper()
	text, _ := synth.Scenario(scenarioSeed, synth.DetectFormat, scenarioStart, 2*time.Hour, scenarioRecords, scenarioIncidents)
	flows := filepath.Join(scenarioDir, "flows.log")
	if *updateScenario {
		if err := os.WriteFile(flows, text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	onDisk, err := os.ReadFile(flows)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/flowq -run TestDetectScenario -update-scenario)", err)
	}
	if !bytes.Equal(onDisk, text) {
		t.Fatalf("%s differs from synth.Scenario's output: run with -update-scenario", flows)
	}
	lake := filepath.Join(t.TempDir(), "lake")
	if code, _, stderr := runCLI(t, "", nil, "--lake", lake, "ingest", flows); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	return lake
}

// TestDetectScenarioConfig: flowq detect --config over the scenario raises
// the alerts of testdata/scenario/expected-config.jsonl, which the Lambda
// raises too with the same document in FLOWQ_CONFIG (cmd/ingest-lambda's
// TestConfigDocumentLikeFlowqDetect); a flag overrides the file.
func TestDetectScenarioConfig(t *testing.T) {
	lake := scenarioLake(t)
	config := filepath.Join(scenarioDir, "detect.yaml")
	code, stdout, stderr := runCLI(t, "", nil, "--lake", lake, "detect", "--config", config, "-o", "json")
	if code != 0 {
		t.Fatalf("detect: exit %d: %s", code, stderr)
	}
	golden := filepath.Join(scenarioDir, "expected-config.jsonl")
	if *updateScenario {
		if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(readAlertLines(t, stdout), readAlertLines(t, string(want))); diff != "" {
		t.Errorf("alerts vs %s (-got +want):\n%s", golden, diff)
	}
	if n := len(readAlertLines(t, stdout)); n < 4 {
		t.Errorf("%d alerts: the tuned configuration should raise more", n)
	}

	// A flag overrides the file: only the exfiltration detector.
	code, stdout, stderr = runCLI(t, "", nil, "--lake", lake, "detect", "--config", config, "--detectors", "exfiltration", "-o", "json")
	if code != 0 {
		t.Fatalf("detect: exit %d: %s", code, stderr)
	}
	for _, a := range readAlertLines(t, stdout) {
		if a.Detector != "exfiltration" {
			t.Errorf("--detectors exfiltration over the file: got a %s alert", a.Detector)
		}
	}

	// A bad file: usage error naming the file and line.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("window: 1h\nexfil-bytes: lots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "", nil, "--lake", lake, "detect", "--config", bad)
	if code != 2 || !strings.Contains(stderr, bad+":2: exfil-bytes:") {
		t.Errorf("bad config: exit %d, stderr %q; want 2 and the file's line", code, stderr)
	}
}

// TestDetectScenario: flowq detect over the ingested scenario finds exactly
// its incidents.
func TestDetectScenario(t *testing.T) {
	lake := scenarioLake(t)
	code, stdout, stderr := runCLI(t, "", nil, "--lake", lake, "detect", "-o", "json")
	if code != 0 {
		t.Fatalf("detect: exit %d: %s", code, stderr)
	}
	got := readAlertLines(t, stdout)

	// Exactly the incidents' alerts.
	_, incidents := synth.Scenario(scenarioSeed, synth.DetectFormat, scenarioStart, 2*time.Hour, scenarioRecords, scenarioIncidents)
	var want, keys []string
	for _, in := range incidents {
		for _, a := range in.Alerts {
			want = append(want, a.Detector+" "+a.Src+" "+a.Dst)
		}
	}
	for _, a := range got {
		keys = append(keys, a.Detector+" "+a.Src+" "+a.Dst)
	}
	slices.Sort(want)
	slices.Sort(keys)
	if diff := cmp.Diff(keys, want); diff != "" {
		t.Errorf("alerts (-got +want):\n%s", diff)
	}

	// And the golden file of their details.
	golden := filepath.Join(scenarioDir, "expected.jsonl")
	var buf bytes.Buffer
	for _, a := range got {
		b, _ := json.Marshal(a)
		buf.Write(append(b, '\n'))
	}
	if *updateScenario {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantGolden, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, readAlertLines(t, string(wantGolden))); diff != "" {
		t.Errorf("alerts vs %s (-got +want):\n%s", golden, diff)
	}
	if !strings.Contains(stderr, "flowq detect: ") || !strings.Contains(stderr, "5 alerts") {
		t.Errorf("summary: %s", stderr)
	}

	// Tuning with flags.
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"seed's REJECT query", []string{"--src", "10.0.11.0/24", "--detectors", "reject"}, []string{"reject 10.0.11.51 "}},
		{"threshold is strict", []string{"--exfil-bytes", "1400000", "--detectors", "exfiltration"}, nil},
		{"below the exfiltration", []string{"--exfil-bytes", "1399999", "--detectors", "exfiltration"}, []string{"exfiltration 10.0.11.50 203.0.113.77"}},
		{"allowlisted destination", []string{"--allow-dst", "203.0.113.0/24", "--detectors", "exfiltration,portscan"}, []string{"portscan 10.0.12.51 10.0.21.100"}},
		{"time range without the incidents", []string{"--since", "2026-11-20T10:00:00Z"}, nil},
		{"reject threshold", []string{"--reject-threshold", "5", "--detectors", "reject"}, []string{"reject 10.0.11.51 ", "reject 10.0.12.51 "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", nil, append([]string{"--lake", lake, "detect", "-o", "json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var keys []string
			for _, a := range readAlertLines(t, stdout) {
				keys = append(keys, a.Detector+" "+a.Src+" "+a.Dst)
			}
			slices.Sort(keys)
			if diff := cmp.Diff(keys, tc.want); diff != "" {
				t.Errorf("alerts (-got +want):\n%s", diff)
			}
		})
	}

	// Human outputs.
	code, stdout, stderr = runCLI(t, "", nil, "--lake", lake, "detect")
	if code != 0 || !strings.Contains(stdout, "exfiltration") || !strings.Contains(stdout, "1.4 MB") || strings.Count(stdout, "window_start") != 1 {
		t.Errorf("table: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "", nil, "--lake", lake, "detect", "-o", "text", "--detectors", "exfiltration")
	if code != 0 || !strings.Contains(stdout, "exfiltration 10.0.11.50 -> 203.0.113.77 1.4 MB") {
		t.Errorf("text: exit %d\n%s", code, stdout)
	}
}

func TestDetectUsage(t *testing.T) {
	for _, args := range [][]string{
		{"detect", "--watch", "10.0.0.0/33"},
		{"detect", "--detectors", "exfil"},
		{"detect", "--ports", "22-1"},
		{"detect", "--window", "10s"},
		{"detect", "-o", "yaml"},
		{"detect", "--sns", "my-topic"},
		{"detect", "extra"},
	} {
		code, _, stderr := runCLI(t, "", nil, append([]string{"--lake", t.TempDir()}, args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}

// TestDetectSNS: flowq detect --sns publishes each alert to the topic; an
// SQS subscription receives them.
func TestDetectSNS(t *testing.T) {
	srv := motoserver.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg := srv.Config(t)
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("flowq-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}

	lake := scenarioLake(t)
	code, stdout, stderr := runCLI(t, "", nil, "--lake", lake, "detect", "-o", "json", "--sns", aws.ToString(topic.TopicArn))
	if code != 0 {
		t.Fatalf("detect --sns: exit %d: %s", code, stderr)
	}
	want := map[string]string{} // id -> detector
	for _, a := range readAlertLines(t, stdout) {
		want[a.ID] = a.Detector
	}
	got := map[string]string{}
	for range 10 {
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var a alertLine
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &a); err != nil {
				t.Fatalf("message body: %v", err)
			}
			if d := m.MessageAttributes["detector"]; d.StringValue == nil || *d.StringValue != a.Detector {
				t.Errorf("alert %s: detector attribute %v", a.ID, d.StringValue)
			}
			got[a.ID] = a.Detector
		}
		if len(got) >= len(want) {
			break
		}
	}
	if len(want) != 5 {
		t.Errorf("%d alerts printed, want 5", len(want))
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("alerts on the queue (-got +want):\n%s", diff)
	}
}

// TestNamedQueriesMatchDetectors: exfil-candidates and port-scan apply the
// detectors' scopes, so over the scenario they name the incidents flowq
// detect reports, not internal traffic or a database's replies; log-health
// judges silence at the current time (or --param at=...), not at the newest
// record.
func TestNamedQueriesMatchDetectors(t *testing.T) {
	lake := scenarioLake(t)
	run := func(args ...string) []map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(t, "", nil, append([]string{"--lake", lake, "run"}, append(args, "-o", "json")...)...)
		if code != 0 {
			t.Fatalf("run %v: exit %d: %s", args, code, stderr)
		}
		var rows []map[string]any
		for l := range strings.SplitSeq(strings.TrimSpace(stdout), "\n") {
			if l == "" {
				continue
			}
			var r map[string]any
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				// A JSON array rather than lines.
				if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
					t.Fatalf("run %v: output %q", args, stdout)
				}
				return rows
			}
			rows = append(rows, r)
		}
		return rows
	}
	rows := run("exfil-candidates")
	if len(rows) == 0 || rows[0]["srcaddr"] != "10.0.11.50" || rows[0]["dstaddr"] != "203.0.113.77" {
		t.Errorf("exfil-candidates: first row %v, want the exfiltration incident 10.0.11.50 -> 203.0.113.77", rows)
	}
	for _, r := range rows {
		if dst, _ := r["dstaddr"].(string); strings.HasPrefix(dst, "10.0.") {
			t.Errorf("exfil-candidates: internal destination %v", r)
		}
	}
	rows = run("port-scan")
	if len(rows) != 1 || rows[0]["srcaddr"] != "10.0.12.51" || rows[0]["dstaddr"] != "10.0.21.100" {
		t.Fatalf("port-scan: %v, want the one scan 10.0.12.51 -> 10.0.21.100", rows)
	}
	first, _ := time.Parse(time.RFC3339, strings.Replace(fmt.Sprint(rows[0]["first_seen"]), " ", "T", 1))
	last, _ := time.Parse(time.RFC3339, strings.Replace(fmt.Sprint(rows[0]["last_seen"]), " ", "T", 1))
	if span := last.Sub(first); first.IsZero() || last.IsZero() || span > 10*time.Minute {
		t.Errorf("port-scan: spans %v to %v, want the scan's own minutes", rows[0]["first_seen"], rows[0]["last_seen"])
	}
	silent := func(rows []map[string]any) int {
		n := 0
		for _, r := range rows {
			if r["silent"] == true {
				n++
			}
		}
		return n
	}
	now := run("log-health")
	then := run("log-health", "--param", "at="+scenarioStart.Add(2*time.Hour).Format(time.RFC3339))
	if len(now) == 0 || silent(now) != len(now) {
		t.Errorf("log-health now: %d of %d ENIs silent, want all (the scenario's records are days old)", silent(now), len(now))
	}
	if silent(then) == len(then) {
		t.Errorf("log-health at the scenario's end: every ENI silent")
	}
	if diff := cmp.Diff(run("log-health", "--at", scenarioStart.Add(2*time.Hour).Format(time.RFC3339)), then); diff != "" {
		t.Errorf("log-health --at differs from --param at= (-got +want):\n%s", diff)
	}
}

// TestRunAt: flowq run --at passes the instant as the query's at
// parameter, in RFC 3339 (any form --since takes), and is a usage error
// for a query without one or beside --param at=.
func TestRunAt(t *testing.T) {
	for _, tc := range []struct{ at, want string }{
		{"2026-11-20T12:00:00Z", "'2026-11-20T12:00:00Z'"},
		{"2026-11-20", "'2026-11-20T00:00:00Z'"},
		{"2026-11-20T14:00:00+02:00", "'2026-11-20T12:00:00Z'"},
		{"now", "'now'"},
	} {
		code, stdout, stderr := runCLI(t, "", nil, "run", "log-health", "--at", tc.at, "--sql")
		if code != 0 || !strings.Contains(stdout, tc.want) {
			t.Errorf("--at %s: exit %d, want %s in the SQL:\n%s%s", tc.at, code, tc.want, stdout, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "top-talkers", "--at", "1h"}, "top-talkers judges no instant"},
		{[]string{"run", "log-health", "--at", "yesterday"}, `--at: cannot read "yesterday" as a time`},
		{[]string{"run", "log-health", "--at", "1h", "--param", "at=now"}, "--at and --param at= both given"},
	} {
		code, _, stderr := runCLI(t, "", nil, append([]string{"--lake", t.TempDir()}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q: %s", tc.args, code, exitUsage, tc.want, stderr)
		}
	}
}

// TestDetectPolicySelectable: "policy" is a detector name like the others:
// --detectors policy (or a config file's detectors: [policy]) runs the
// policy detector alone, and a list without it leaves it out.
func TestDetectPolicySelectable(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	at := day.Add(10 * time.Hour).Unix()
	line := func(src, dst string, sport, dport int, action string) string {
		return fmt.Sprintf("5 123456789012 eni-0a1b2c3d4e5f60011 %s %s %d %d 6 10 1000 %d %d %s OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv4 %s %s - egress\n",
			src, dst, sport, dport, at, at+30, action, src, dst)
	}
	// SSH from an ECS task to the database, ACCEPTed though the rules deny
	// it (a policy finding), and a REJECT the rules agree with (a reject
	// alert only).
	text := synth.DetectFormat.Header() + "\n" +
		line("10.0.11.51", "10.0.21.100", 41000, 22, "ACCEPT") +
		line("10.0.11.51", "10.0.21.100", 41001, 3306, "REJECT")
	p := writeFile(t, dir, "flows.log", []byte(text))
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 {
		t.Fatalf("ingest: %s%s", out, errb)
	}
	saveSnapshot(t, lake, inventory.DemoSnapshot(day))
	config := writeFile(t, dir, "detect.yaml", []byte("detectors: [policy]\n"))
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"policy", "reject"}},
		{[]string{"--detectors", "policy"}, []string{"policy"}},
		{[]string{"--config", config}, []string{"policy"}},
		{[]string{"--detectors", "exfiltration,reject,portscan"}, []string{"reject"}},
	} {
		args := append([]string{"--lake", lake, "detect", "-o", "json"}, tc.args...)
		code, stdout, stderr := runCLI(t, "", nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		var got []string
		for _, a := range readAlertLines(t, stdout) {
			got = append(got, a.Detector)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: detectors %v, want %v", tc.args, got, tc.want)
		}
	}
	// The help names it.
	if _, stdout, _ := runCLI(t, "", nil, "detect", "--help"); !strings.Contains(stdout, "exfiltration, reject, portscan, policy") {
		t.Errorf("--detectors help does not name policy:\n%s", stdout)
	}
}
