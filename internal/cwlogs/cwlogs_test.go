package cwlogs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/gzip"
)

const sampleLine = "2 123456789012 eni-0a1b2c3d4e5f60001 203.0.113.5 10.0.1.25 51234 443 6 10 8400 1700000000 1700000060 ACCEPT OK"

func sample(n int) events.CloudwatchLogsData {
	d := events.CloudwatchLogsData{
		MessageType: DataMessage, Owner: "123456789012", LogGroup: "/flowq/vpc-flow-logs",
		LogStream: "eni-0a1b2c3d4e5f60001-all", SubscriptionFilters: []string{"flowq-ingest"},
	}
	for i := range n {
		ts := int64(1700000000000 + i*1000)
		d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{ID: EventID(ts, uint64(i)), Timestamp: ts, Message: sampleLine})
	}
	return d
}

func mustEncode(t testing.TB, d events.CloudwatchLogsData) []byte {
	t.Helper()
	b, err := Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var equate = cmpopts.EquateEmpty()

func TestDecodeEventMatchesAWSLambdaGo(t *testing.T) {
	want := sample(50)
	want.LogEvents[3].Message = "with \"quotes\", a tab\t, a newline\n, é, 😀, <html> & \u2028"
	payload := mustEncode(t, want)

	// aws-lambda-go's own decoder is the reference.
	var ev events.CloudwatchLogsEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	ref, err := ev.AWSLogs.Parse()
	if err != nil {
		t.Fatal(err)
	}
	dec := NewDecoder(Options{})
	got, err := dec.DecodeEvent(payload)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fallback {
		t.Error("fast path fell back to encoding/json")
	}
	if diff := cmp.Diff(got.CloudwatchLogsData(), ref, equate); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	if got.BatchID() != BatchID(want.LogGroup, want.LogStream, want.LogEvents[0].ID) {
		t.Error("batch id does not derive from group, stream and first event id")
	}
	// Text holds every message followed by '\n'; line numbers map back.
	var text []byte
	for _, e := range want.LogEvents {
		text = append(append(text, e.Message...), '\n')
	}
	if !bytes.Equal(got.Text, text) {
		t.Error("Text differs from the messages joined by newlines")
	}
	for line, wantEv := range map[int64]int{1: 0, 4: 3, 5: 3, 6: 4, 51: 49, 52: -1, 0: -1} {
		if i := got.EventAtLine(line); i != wantEv {
			t.Errorf("EventAtLine(%d) = %d, want %d", line, i, wantEv)
		}
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func envelope(s string) []byte { return []byte(`{"awslogs":{"data":"` + s + `"}}`) }

func TestDecodeErrors(t *testing.T) {
	good := sample(3)
	bomb := gz(bytes.Repeat([]byte{' '}, 2<<20)) // 2 MiB of spaces, a few KiB compressed
	tests := []struct {
		name    string
		payload []byte
		want    error // nil: success
		control bool
		events  int
	}{
		{"good", mustEncode(t, good), nil, false, 3},
		{"not JSON", []byte(`awslogs`), ErrEnvelope, false, 0},
		{"no awslogs", []byte(`{"Records":[]}`), ErrEnvelope, false, 0},
		{"not base64", envelope("!!!not base64!!!"), ErrBase64, false, 0},
		{"not gzip", envelope(base64.StdEncoding.EncodeToString([]byte("plain text, not gzip"))), ErrGzip, false, 0},
		{"truncated gzip", envelope(base64.StdEncoding.EncodeToString(gz([]byte(`{"messageType":"DATA_MESSAGE"}`))[:20])), ErrGzip, false, 0},
		{"gzip bomb", envelope(base64.StdEncoding.EncodeToString(bomb)), ErrTooLarge, false, 0},
		{"not JSON inside", envelope(base64.StdEncoding.EncodeToString(gz([]byte(`{"messageType":`)))), ErrJSON, false, 0},
		{"missing logGroup", envelope(base64.StdEncoding.EncodeToString(gz([]byte(`{"messageType":"DATA_MESSAGE","logStream":"s","logEvents":[]}`)))), ErrMissingField, false, 0},
		{"missing messageType", envelope(base64.StdEncoding.EncodeToString(gz([]byte(`{"logGroup":"g","logStream":"s","logEvents":[]}`)))), ErrMissingField, false, 0},
		{"missing event id", envelope(base64.StdEncoding.EncodeToString(gz([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"timestamp":1,"message":"x"}]}`)))), ErrMissingField, false, 0},
		{"wrong type", envelope(base64.StdEncoding.EncodeToString(gz([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":"now","message":"x"}]}`)))), ErrJSON, false, 0},
		{"unknown messageType", envelope(base64.StdEncoding.EncodeToString(gz([]byte(`{"messageType":"SOMETHING","logGroup":"g","logStream":"s"}`)))), ErrJSON, false, 0},
		{"empty batch", mustEncode(t, events.CloudwatchLogsData{LogGroup: "g", LogStream: "s"}), nil, false, 0},
		{"control message", mustEncode(t, events.CloudwatchLogsData{MessageType: ControlMessage, LogGroup: "testLogGroup", LogStream: "testLogStream",
			LogEvents: []events.CloudwatchLogsLogEvent{{ID: "1", Timestamp: 1, Message: "CWL CONTROL MESSAGE: Checking health of destination Lambda function."}}}), nil, true, 1},
	}
	dec := NewDecoder(Options{MaxBytes: 1 << 20})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dec.DecodeEvent(tt.payload)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got.MessageType == ControlMessage) != tt.control || got.Len() != tt.events {
				t.Errorf("got %s with %d events", got.MessageType, got.Len())
			}
		})
	}
	// The decoder is still good after errors.
	if _, err := dec.DecodeEvent(mustEncode(t, good)); err != nil {
		t.Fatal(err)
	}
}

// TestEnvelopeFallback: an envelope with another shape still decodes.
func TestEnvelopeFallback(t *testing.T) {
	p := mustEncode(t, sample(2))
	var ev events.CloudwatchLogsEvent
	json.Unmarshal(p, &ev)
	odd := `{ "other": 1, "awslogs" : { "data" : "` + strings.ReplaceAll(ev.AWSLogs.Data, "/", `\/`) + `", "x": null } }`
	got, err := NewDecoder(Options{}).DecodeEvent([]byte(odd))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.CloudwatchLogsData(), sample(2), equate); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
}

// checkEquivalent decodes js with the fast scanner and with encoding/json:
// whenever the scanner accepts, encoding/json must accept with the same
// result.
func checkEquivalent(t *testing.T, js []byte) (fast bool) {
	t.Helper()
	var d Data
	s := scanner{b: js, d: &d}
	ok := s.payload()
	var p jsonPayload
	err := json.Unmarshal(js, &p)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("scanner accepted what encoding/json rejects (%v): %q", err, js)
	}
	if diff := cmp.Diff(d.CloudwatchLogsData(), p.CloudwatchLogsData, equate); diff != "" {
		t.Fatalf("scanner and encoding/json differ on %q (-scanner +json)\n%s", js, diff)
	}
	if d.PolicyLevel != p.PolicyLevel {
		t.Fatalf("policyLevel %q, json %q", d.PolicyLevel, p.PolicyLevel)
	}
	// Line numbers: each event starts where the previous messages' lines end.
	line := int64(1)
	for i := range d.Len() {
		e := d.Event(i)
		if e.Line != line {
			t.Fatalf("event %d at line %d, want %d", i, e.Line, line)
		}
		line += int64(bytes.Count(e.Message, []byte{'\n'})) + 1
	}
	return true
}

var seeds = []string{
	`{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"g","logStream":"eni-1-all","subscriptionFilters":["f"],"logEvents":[{"id":"36","timestamp":1700000000000,"message":"2 123 eni-1 - - - - - - - 1 2 - NODATA"}]}`,
	`{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855105,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`,
	` { "logEvents" : [ { "message" : "a\\nb\\u00e9\\ud83d\\ude00\\/\\\"" , "id":"1","timestamp":-0, "extra": {"k":[1,2.5e3,true,false,null,"s"]}} ] , "policyLevel":"ACCOUNT_LEVEL_POLICY"} `,
	`{"messageType":null}`,
	`{"MessageType":"DATA_MESSAGE"}`,
	`{"logEvents":[{"id":"1"},{"id":"2","id":"3"}]}`,
	`{"logEvents":[{"message":"\ud800"}]}`,
	`{"owner":"\u00e9\u4e16"}`,
	`{"owner":"é世 raw"}`,
	"{\"owner\":\"\xff\"}",
	`{"logEvents":[{"timestamp":1e3}]}`,
	`{"logEvents":[{"timestamp":123456789012345678901}]}`,
	`{"logEvents":[]} x`,
	`{}`,
	`[]`,
	`null`,
}

func FuzzScanner(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	js, _ := json.Marshal(sample(3))
	f.Add(js)
	f.Fuzz(func(t *testing.T, js []byte) {
		checkEquivalent(t, js)
	})
}

func TestScannerSeeds(t *testing.T) {
	fast := 0
	for _, s := range seeds {
		if checkEquivalent(t, []byte(s)) {
			fast++
		}
	}
	if fast < 4 {
		t.Errorf("only %d seeds took the fast path", fast)
	}
}

// TestScannerProperty: random payloads as encoding/json writes them always
// take the fast path and decode equal.
func TestScannerProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abc 0123456789.-\"\\/\b\f\n\r\t\x00\x1f\x7féü世😀\u2028\u2029<>&")
	str := func() string {
		r := make([]rune, rng.IntN(30))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	for range 2000 {
		var p jsonPayload
		p.MessageType, p.Owner, p.LogGroup, p.LogStream, p.PolicyLevel = str(), str(), str(), str(), str()
		p.SubscriptionFilters, p.LogEvents = []string{}, []events.CloudwatchLogsLogEvent{}
		for range rng.IntN(3) {
			p.SubscriptionFilters = append(p.SubscriptionFilters, str())
		}
		for range rng.IntN(5) {
			p.LogEvents = append(p.LogEvents, events.CloudwatchLogsLogEvent{ID: str(), Timestamp: rng.Int64N(1<<50) - 1<<49, Message: str()})
		}
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if !checkEquivalent(t, js) {
			t.Fatalf("fast path refused encoding/json output %q", js)
		}
	}
}

func TestEventIDShape(t *testing.T) {
	id := EventID(1700000000123, 42)
	if len(id) != 56 || strings.Trim(id, "0123456789") != "" {
		t.Errorf("EventID = %q, want 56 digits", id)
	}
	if !utf8.ValidString(id) {
		t.Fail()
	}
}

// TestFixtures: events as AWS and CloudWatch Logs write them decode as
// aws-lambda-go decodes them, on the fast path.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("../../testdata/cwlogs/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	dec := NewDecoder(Options{})
	for _, f := range files {
		if strings.HasSuffix(f, "golden.json") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.CloudwatchLogsEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			want, err := ev.AWSLogs.Parse()
			if err != nil {
				t.Fatal(err)
			}
			got, err := dec.DecodeEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Fallback {
				t.Error("took the encoding/json fallback")
			}
			if diff := cmp.Diff(got.CloudwatchLogsData(), want, equate); diff != "" {
				t.Errorf("(-got +want)\n%s", diff)
			}
		})
	}
}

func TestPrintableASCII(t *testing.T) {
	for n := range 40 {
		for pos := range n {
			for _, c := range []byte{0x00, 0x1f, 0x80, 0xff, 0xa0} {
				b := bytes.Repeat([]byte{'a'}, n)
				b[pos] = c
				if printableASCII(b) {
					t.Fatalf("printableASCII(% x) = true", b)
				}
			}
		}
		b := bytes.Repeat([]byte{0x7f}, n)
		if n > 0 {
			b[0] = 0x20
		}
		if !printableASCII(b) {
			t.Fatalf("printableASCII(% x) = false", b)
		}
	}
}

// TestDecodeInPlace: Decode unescapes messages inside its JSON buffer; random
// payloads (escapes, Unicode, control characters) decode as aws-lambda-go
// decodes them, and so does a payload whose scan fails after its messages
// were already written (the fallback decompresses again).
func TestDecodeInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("ab 09.-\"\\/\n\t\x01é世😀\u2028<>&")
	str := func(n int) string {
		r := make([]rune, rng.IntN(n))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	dec := NewDecoder(Options{})
	check := func(payload []byte, fallback bool) {
		t.Helper()
		var ev events.CloudwatchLogsEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatal(err)
		}
		want, err := ev.AWSLogs.Parse()
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.DecodeEvent(payload)
		if err != nil {
			t.Fatal(err)
		}
		if got.Fallback != fallback {
			t.Errorf("fallback = %v, want %v", got.Fallback, fallback)
		}
		if diff := cmp.Diff(got.CloudwatchLogsData(), want, equate); diff != "" {
			t.Fatalf("(-got +want)\n%s", diff)
		}
	}
	for range 300 {
		d := events.CloudwatchLogsData{MessageType: DataMessage, LogGroup: "g" + str(5), LogStream: "s" + str(5)}
		for i := range rng.IntN(20) {
			d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{ID: EventID(int64(i), uint64(i)), Timestamp: int64(i), Message: str(300)})
		}
		check(mustEncode(t, d), false)
	}
	late, err := EncodeJSON([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"he said \"hi\"\tthere"},{"id":"2","timestamp":2,"message":"second line"}],"owner":null}`))
	if err != nil {
		t.Fatal(err)
	}
	check(late, true)
	check(mustEncode(t, sample(3)), false) // and back on the fast path
}

// FuzzDecode: the whole in-place path (gzip, scanner writing into its own
// input, fallback) agrees with encoding/json on any JSON.
func FuzzDecode(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	js, _ := json.Marshal(sample(3))
	f.Add(js)
	dec := NewDecoder(Options{MaxBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, js []byte) {
		payload, err := EncodeJSON(js)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.DecodeEvent(payload)
		var ref Data
		refErr := ref.fromJSON(js)
		if refErr == nil {
			refErr = ref.Validate()
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("Decode err %v, encoding/json err %v, on %q", err, refErr, js)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(got.CloudwatchLogsData(), ref.CloudwatchLogsData(), equate); diff != "" || got.PolicyLevel != ref.PolicyLevel {
			t.Fatalf("on %q (-decode +json)\n%s", js, diff)
		}
	})
}
