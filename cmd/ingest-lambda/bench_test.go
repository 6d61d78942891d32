package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-lambda-go/events"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// benchPayload is one subscription payload (one ENI's log stream, as
// CloudWatch Logs sends) holding about textBytes of the seed VPC's flow-log
// text, incidents included, and that text's size.
func benchPayload(tb testing.TB, textBytes int) ([]byte, int) {
	tb.Helper()
	text, _ := traffic(textBytes/190 + 100)
	// All records on one interface: a busy ENI's stream.
	eni := synth.ECS[0].ENI
	var one []byte
	for l := range bytes.SplitAfterSeq(text, []byte{'\n'}) {
		f := bytes.SplitN(l, []byte{' '}, 4)
		if len(f) < 4 {
			continue
		}
		one = append(one, f[0]...)
		one = append(one, ' ')
		one = append(one, f[1]...)
		one = append(one, ' ')
		one = append(one, eni...)
		one = append(one, ' ')
		one = append(one, f[3]...)
		if len(one) >= textBytes {
			break
		}
	}
	ps, err := cwlogs.Pack(one, cwlogs.PackOptions{Owner: synth.Account, LogGroup: logGroup, Filter: "flowq-ingest",
		MaxEvents: 1 << 30, MaxBytes: 1 << 30,
		Stream: func([]byte) string { return eni + "-all" },
		Timestamp: func(l []byte) int64 {
			s, _ := strconv.ParseInt(string(cwlogs.Field(l, 10)), 10, 64)
			return s * 1000
		}})
	if err != nil || len(ps) != 1 {
		tb.Fatalf("pack: %d payloads, %v", len(ps), err)
	}
	return ps[0], len(one)
}

type countSink struct{ n int }

func (s *countSink) Send(_ context.Context, a []detect.Alert) error { s.n += len(a); return nil }

// benchHandler is the function's handler over a local lake and in-memory
// state: the same code as in Lambda minus the network.
func benchHandler(tb testing.TB) (*handler, *store.Lake, *detect.Engine) {
	tb.Helper()
	lake, err := store.Open(context.Background(), tb.TempDir(), store.Options{Create: true})
	if err != nil {
		tb.Fatal(err)
	}
	dcfg := detect.DefaultConfig()
	dcfg.Retention = 0 // fixtures' records are of any age
	eng, err := detect.New(dcfg, detect.NewMemoryState(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	fm := parse.MustParseFormat(seedFormat)
	log := slog.New(slog.DiscardHandler)
	pipe, err := pipeline.New(pipeline.Config{Format: fm, Lake: lake, Detector: eng, Sink: &countSink{}, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	return &handler{pipe: pipe, format: fm, log: log, metrics: io.Discard, maxBytes: cwlogs.DefaultMaxBytes,
		dec: cwlogs.NewDecoder(cwlogs.Options{})}, lake, eng
}

// BenchmarkHandler: encoded CloudWatch Logs payload → Parquet in the lake
// + alerts, through the function's handler. SetBytes is the flow-log text.
func BenchmarkHandler(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) { benchmarkHandler(b, size) })
	}
}

// benchSizes are flow-log text per payload: 1 MiB, and 5 MiB (about the
// most a 1 MB asynchronous Lambda event holds).
var benchSizes = []int{1 << 20, 5 << 20}

func sizeName(n int) string { return strconv.Itoa(n>>20) + "MiB" }

func benchmarkHandler(b *testing.B, size int) {
	payload, n := benchPayload(b, size)
	h, _, _ := benchHandler(b)
	ctx := context.Background()
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ReportMetric(float64(len(payload)), "payload-bytes")
	cpu := cpuTime()
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, n, cpu)
}

// cpuTime is the process's CPU time so far (user + system): on a shared
// machine, throughput per CPU-second is the per-core figure.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, n int, since time.Duration) {
	if d := cpuTime() - since; d > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/d.Seconds()/1e6, "MB/cpu-s")
	}
}

// BenchmarkStdlibChain is the plain way, measured in the same run:
// encoding/json + compress/gzip (aws-lambda-go's Parse), a strings.Fields +
// strconv parser into Arrow builders, then the same Parquet writer and the
// same detectors.
func BenchmarkStdlibChain(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) { benchmarkStdlibChain(b, size) })
	}
}

func benchmarkStdlibChain(b *testing.B, size int) {
	payload, n := benchPayload(b, size)
	_, lake, eng := benchHandler(b)
	fm := parse.MustParseFormat(seedFormat)
	ctx := context.Background()
	b.SetBytes(int64(n))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		var ev events.CloudwatchLogsEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			b.Fatal(err)
		}
		d, err := ev.AWSLogs.Parse()
		if err != nil {
			b.Fatal(err)
		}
		rec := stdlibParse(fm, d.LogEvents)
		id := cwlogs.BatchID(d.LogGroup, d.LogStream, d.LogEvents[0].ID)
		if _, err := lake.Write(ctx, id, []arrow.RecordBatch{rec}); err != nil {
			b.Fatal(err)
		}
		alerts, err := eng.Process(ctx, id, rec)
		if err != nil {
			b.Fatal(err)
		}
		if err := eng.Ack(ctx, alerts); err != nil {
			b.Fatal(err)
		}
		rec.Release()
	}
	reportCPU(b, n, cpu)
}

// stdlibParse is a hand-written parser: strings.Fields, strconv, Arrow
// builders.
func stdlibParse(fm *parse.Format, evs []events.CloudwatchLogsLogEvent) arrow.RecordBatch {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, fm.Schema())
	defer bld.Release()
	for _, e := range evs {
		toks := strings.Fields(e.Message)
		if len(toks) != fm.Len() {
			continue
		}
		for i, tok := range toks {
			switch fb := bld.Field(i).(type) {
			case *array.StringBuilder:
				if tok == "-" {
					fb.AppendNull()
				} else {
					fb.Append(tok)
				}
			case *array.Int32Builder:
				if v, err := strconv.ParseInt(tok, 10, 32); err == nil {
					fb.Append(int32(v))
				} else {
					fb.AppendNull()
				}
			case *array.Int64Builder:
				if v, err := strconv.ParseInt(tok, 10, 64); err == nil {
					fb.Append(v)
				} else {
					fb.AppendNull()
				}
			}
		}
	}
	return bld.NewRecordBatch()
}

// BenchmarkDecode is the decoding share: the envelope to Text.
func BenchmarkDecode(b *testing.B) {
	payload, n := benchPayload(b, 5<<20)
	dec := cwlogs.NewDecoder(cwlogs.Options{})
	b.SetBytes(int64(n))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := dec.DecodeEvent(payload); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, n, cpu)
}

// TestPeakMemory reports the memory one invocation needs for the largest
// payload Lambda accepts asynchronously (1 MB event): with the collector
// off, the bytes allocated are an upper bound of the heap's growth.
func TestPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	// Grow the text until the encoded event reaches 1 MB.
	var payload []byte
	var n int
	for size := 4 << 20; size < 64<<20; size = size * 9 / 8 {
		p, tn := benchPayload(t, size)
		if len(p) > 1_000_000 {
			break
		}
		payload, n = p, tn
	}
	h, _, _ := benchHandler(t)
	ctx := context.Background()
	if _, err := h.Invoke(ctx, payload); err != nil { // warm the buffers, as a warm Lambda has them
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	old := debug.SetGCPercent(-1)
	start := time.Now()
	if _, err := h.Invoke(ctx, payload); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	debug.SetGCPercent(old)
	t.Logf("1 MB event (%d bytes, %d bytes of flow-log text): %.1f MiB allocated per warm invocation (%d allocs), heap in use %.1f → %.1f MiB, %v",
		len(payload), n, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), after.Mallocs-before.Mallocs,
		float64(before.HeapInuse)/(1<<20), float64(after.HeapInuse)/(1<<20), el.Round(time.Millisecond))
	if grow := after.HeapInuse - before.HeapInuse; grow > 96<<20 {
		t.Errorf("an invocation grows the heap by %d MiB: too much for a 128 MB function", grow>>20)
	}
}

// BenchmarkInit is the function's init phase in process: configuration
// from the environment, the AWS config and clients, the lake, detector and
// pipeline (no network: nothing is called until the first event).
func BenchmarkInit(b *testing.B) {
	env := map[string]string{envLake: "s3://bucket/flows", envLogFormat: seedFormat, envStateTable: "flowq-state",
		envTopic: "arn:aws:sns:us-east-1:123456789012:flowq-alerts"}
	b.Setenv("AWS_CA_BUNDLE", "") // a sandbox's proxy CA bundle is not Lambda's environment
	b.Setenv("AWS_REGION", "us-east-1")
	b.Setenv("AWS_ACCESS_KEY_ID", "x")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	log := slog.New(slog.DiscardHandler)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := initHandler(context.Background(), func(k string) string { return env[k] }, log, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeParse and BenchmarkStdlibDecodeParse stop before the
// shared Parquet writer and detectors: event → Arrow records.
func BenchmarkDecodeParse(b *testing.B) {
	payload, n := benchPayload(b, 5<<20)
	dec := cwlogs.NewDecoder(cwlogs.Options{})
	fm := parse.MustParseFormat(seedFormat)
	pool := parse.NewPool()
	b.SetBytes(int64(n))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		d, err := dec.DecodeEvent(payload)
		if err != nil {
			b.Fatal(err)
		}
		r := parse.NewBytesReader(d.Text, parse.Options{Format: fm, Allocator: pool})
		for r.Next() {
		}
		r.Release()
	}
	reportCPU(b, n, cpu)
}

func BenchmarkStdlibDecodeParse(b *testing.B) {
	payload, n := benchPayload(b, 5<<20)
	fm := parse.MustParseFormat(seedFormat)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		var ev events.CloudwatchLogsEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			b.Fatal(err)
		}
		d, err := ev.AWSLogs.Parse()
		if err != nil {
			b.Fatal(err)
		}
		stdlibParse(fm, d.LogEvents).Release()
	}
	reportCPU(b, n, cpu)
}
