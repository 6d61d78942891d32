package store

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// benchText is a day of synthetic seed-VPC traffic in AWS's default format,
// with the header line of an S3 file.
func benchText(n int) []byte {
	return synth.Text(42, parse.DefaultFormat(), t0, n, true)
}

// hourText is n records of one hour of traffic, as in the files AWS
// delivers to S3 every few minutes: they land in one or two partitions.
func hourText(n int) []byte {
	fm := parse.DefaultFormat()
	g := synth.New(42, t0.Add(30*time.Minute), time.Hour, n)
	out := append([]byte(fm.Header()), '\n')
	for range n {
		fl := g.Next()
		out = synth.AppendLine(out, fm, &fl)
		out = append(out, '\n')
	}
	return out
}

// BenchmarkIngest measures text → lake (parse + Parquet + local file) beside
// two references over the same text in the same run: parsing alone, and
// gzip -1 (what AWS's own delivery costs to produce).
func BenchmarkIngest(b *testing.B) {
	text := hourText(200_000)
	ctx := context.Background()
	b.Run("parse-only", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			r := parse.NewBytesReader(text, parse.Options{})
			for r.Next() {
			}
			r.Release()
		}
	})
	b.Run("gzip-1", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			zw.Write(text)
			zw.Close()
		}
	})
	b.Run("lake", func(b *testing.B) {
		l, err := Open(ctx, b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		var out int64
		for b.Loop() {
			r := parse.NewBytesReader(text, parse.Options{})
			recs, _ := r.ReadAll() // in-memory input: no I/O error
			r.Release()
			res, err := l.Write(ctx, "bench", recs)
			if err != nil {
				b.Fatal(err)
			}
			out = res.Bytes
			release(recs)
		}
		b.ReportMetric(float64(out)/200_000, "parquet-B/rec")
	})
}

// BenchmarkSize reports Parquet bytes per record and the lake's size against
// gzip'd text of the same records (AWS delivers gzip text to S3).
func BenchmarkSize(b *testing.B) {
	b.Run("day", func(b *testing.B) { benchSize(b, benchText(500_000)) }) // 24 files of ~21k records
	b.Run("hour", func(b *testing.B) { benchSize(b, hourText(500_000)) }) // 1-2 files
}

func benchSize(b *testing.B, text []byte) {
	const n = 500_000
	ctx := context.Background()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	zw.Write(text)
	zw.Close()
	l, err := Open(ctx, b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	r := parse.NewBytesReader(text, parse.Options{})
	recs, _ := r.ReadAll() // in-memory input: no I/O error
	r.Release()
	defer release(recs)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var res WriteResult
	cpu := cpuTime()
	for b.Loop() {
		if res, err = l.Write(ctx, "size", recs); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, len(text), cpu)
	b.ReportMetric(float64(res.Bytes)/n, "parquet-B/rec")
	b.ReportMetric(float64(gz.Len())/n, "gzip-B/rec")
	b.ReportMetric(float64(len(text))/n, "text-B/rec")
	b.ReportMetric(float64(res.Bytes)/float64(gz.Len()), "lake/gzip")
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

// BenchmarkSource measures a source streamed through Begin/Write/Commit
// (parse batch by batch, stage chunks, move at Commit) beside parsing
// alone in the same run, and reports the peak Go heap while it runs: it
// follows the chunk size (Options.ChunkRows), not the input size.
func BenchmarkSource(b *testing.B) {
	text := hourText(600_000)
	ctx := context.Background()
	b.Run("parse-only", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		peak := heapPeak(b)
		for b.Loop() {
			r := parse.NewBytesReader(text, parse.Options{})
			for r.Next() {
			}
			r.Release()
		}
		peak()
	})
	for _, chunk := range []int64{DefaultChunkRows, 4 * DefaultChunkRows} {
		b.Run(fmt.Sprintf("source-chunk=%dKi", chunk>>10), func(b *testing.B) {
			l, err := Open(ctx, b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			peak := heapPeak(b)
			i := 0
			for b.Loop() {
				i++
				w, err := l.Begin(ctx, SourceInfo{ID: fmt.Sprint(i), Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				w.chunk = chunk
				r := parse.NewBytesReader(text, parse.Options{})
				for r.Next() {
					if err := w.Write(ctx, r.RecordBatch()); err != nil {
						b.Fatal(err)
					}
				}
				r.Release()
				if _, err := w.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			peak()
		})
	}
}

// heapPeak samples the Go heap every 5 ms until the returned function is
// called, which reports the peaks of the heap's objects (garbage not yet
// collected included: what RSS follows) as peak-heap-MB and of the heap
// live after a collection as peak-live-MB.
func heapPeak(b *testing.B) func() {
	runtime.GC()
	stop := make(chan struct{})
	done := make(chan [2]uint64)
	go func() {
		var peak [2]uint64
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak[0] = max(peak[0], s[0].Value.Uint64())
			peak[1] = max(peak[1], s[1].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(stop)
		p := <-done
		b.ReportMetric(float64(p[0])/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(p[1])/(1<<20), "peak-live-MB")
	}
}
