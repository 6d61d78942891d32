package cwlogs

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// benchPayload is about 1 MB of flow-log text in one payload.
func benchPayload(b *testing.B) ([]byte, int) {
	d := sample(8000)
	n := 0
	for _, e := range d.LogEvents {
		n += len(e.Message) + 1
	}
	return mustEncode(b, d), n
}

func BenchmarkDecodeEvent(b *testing.B) {
	p, n := benchPayload(b)
	dec := NewDecoder(Options{})
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.DecodeEvent(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEventStdlib is aws-lambda-go's decoder (encoding/json,
// compress/gzip) on the same payload.
func BenchmarkDecodeEventStdlib(b *testing.B) {
	p, n := benchPayload(b)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		var ev events.CloudwatchLogsEvent
		if err := json.Unmarshal(p, &ev); err != nil {
			b.Fatal(err)
		}
		if _, err := ev.AWSLogs.Parse(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanJSON(b *testing.B) {
	d := sample(8000)
	js, _ := json.Marshal(d)
	dec := NewDecoder(Options{})
	b.SetBytes(int64(len(js)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.DecodeJSON(js); err != nil {
			b.Fatal(err)
		}
	}
}
