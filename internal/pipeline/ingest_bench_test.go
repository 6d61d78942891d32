package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

var benchT0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// writeFlows writes about size bytes of synthetic flow-log text over span,
// with S3's header line, streaming (the generator holds one record).
func writeFlows(tb testing.TB, path string, size int64, span time.Duration) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fm := parse.DefaultFormat()
	n := int(size / 110)
	g := synth.New(7, benchT0, span, n)
	line := append([]byte(fm.Header()), '\n')
	w.Write(line)
	written, records := int64(len(line)), int64(0)
	for written < size {
		fl := g.Next()
		line = append(synth.AppendLine(line[:0], fm, &fl), '\n')
		w.Write(line)
		written += int64(len(line))
		records++
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return records
}

// ingestFile stores one file in a new lake under dir, as flowq ingest does.
func ingestFile(ctx context.Context, path, dir string) (InputResult, error) {
	lake, err := store.Open(ctx, dir, store.Options{Create: true})
	if err != nil {
		return InputResult{}, err
	}
	p, err := New(Config{Sources: LakeSources(lake)})
	if err != nil {
		return InputResult{}, err
	}
	var c source.Config
	ins, _, err := c.Expand(ctx, []string{path})
	if err != nil {
		return InputResult{}, err
	}
	var res InputResult
	err = p.Ingest(ctx, ins, InputOptions{}, func(r InputResult) error { res = r; return r.Err })
	return res, err
}

// BenchmarkIngest measures a file → lake, as flowq ingest does it (read,
// hash, parse, stage Parquet, commit), beside the parser alone over the
// same file in the same run. The file is 64 MiB of one hour of traffic, as
// the files AWS delivers to S3 cover minutes (75 MB at most). The issue's
// bar: ingest ≥ 0.33 × parse.
func BenchmarkIngest(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "flows.log")
	records := writeFlows(b, path, 64<<20, time.Hour)
	st, _ := os.Stat(path)
	ctx := context.Background()
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(st.Size())
		b.ReportAllocs()
		defer reportCPU(b, st.Size())()
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			r := parse.NewReader(f, parse.Options{})
			var n int64
			for r.Next() {
				n += r.RecordBatch().NumRows()
			}
			r.Release()
			f.Close()
			if n != records {
				b.Fatalf("parsed %d records, want %d", n, records)
			}
		}
	})
	b.Run("ingest", func(b *testing.B) {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(IngestMemoryLimit)) // as flowq ingest does
		b.SetBytes(st.Size())
		b.ReportAllocs()
		defer reportCPU(b, st.Size())()
		i := 0
		for b.Loop() {
			lake := filepath.Join(dir, "lake"+strconv.Itoa(i))
			i++
			res, err := ingestFile(ctx, path, lake)
			if err != nil || res.Stats.Records != records {
				b.Fatalf("ingest: %v, %d records, want %d", err, res.Stats.Records, records)
			}
			os.RemoveAll(lake)
		}
	})
}

// reportCPU reports MB per CPU-second (user+sys of the process, GC and
// the lake's goroutines included) when the returned func runs: steadier
// than wall time on a shared machine.
func reportCPU(b *testing.B, size int64) func() {
	c0 := cpuTime()
	return func() {
		if d := cpuTime() - c0; d > 0 {
			b.ReportMetric(float64(size)*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssChildEnv tells the test binary to be the ingest child of
// BenchmarkIngestRSS: "input-file lake-dir".
const rssChildEnv = "FLOWQ_INGEST_RSS_CHILD"

// TestIngestRSSChild is the child process of BenchmarkIngestRSS; it does
// nothing in a normal run.
func TestIngestRSSChild(t *testing.T) {
	in, lake := os.Getenv(rssChildEnv+"_IN"), os.Getenv(rssChildEnv+"_LAKE")
	if in == "" {
		t.Skip("the child of BenchmarkIngestRSS")
	}
	debug.SetMemoryLimit(IngestMemoryLimit) // as flowq ingest does
	res, err := ingestFile(context.Background(), in, lake)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("records %d\n", res.Stats.Records)
}

// BenchmarkIngestRSS ingests a 1 GB file in a child process, as flowq
// ingest does, and reports the child's peak resident memory (rusage
// maxrss). The bar: under 150 MB whatever the input's size. Set
// FLOWQ_RSS_BYTES to change the size.
func BenchmarkIngestRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("maxrss in kilobytes is linux's")
	}
	size := int64(1 << 30)
	if s := os.Getenv("FLOWQ_RSS_BYTES"); s != "" {
		size, _ = strconv.ParseInt(s, 10, 64)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "flows.log")
	records := writeFlows(b, path, size, 24*time.Hour)
	b.SetBytes(size)
	var peak int64
	i := 0
	for b.Loop() {
		lake := filepath.Join(dir, "lake"+strconv.Itoa(i))
		i++
		cmd := exec.Command(os.Args[0], "-test.run=^TestIngestRSSChild$", "-test.v")
		cmd.Env = append(os.Environ(), rssChildEnv+"_IN="+path, rssChildEnv+"_LAKE="+lake)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		var got int64
		for _, l := range splitLines(string(out)) {
			fmt.Sscanf(l, "records %d", &got)
		}
		if got != records {
			b.Fatalf("child stored %d records, want %d\n%s", got, records, out)
		}
		peak = max(peak, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		os.RemoveAll(lake)
	}
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
	b.ReportMetric(float64(size)/(1<<20), "input-MB")
	if peak > 150<<10 {
		b.Errorf("peak RSS %d MB ingesting %d MB: over the 150 MB bound", peak>>10, size>>20)
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
