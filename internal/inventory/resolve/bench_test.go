package resolve_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// BenchmarkEnrichedDetection: records per second through the detectors
// with the inventory (names and NAT legs; then the policy detector too)
// beside the plain detectors, the policy detector by itself and the
// parser, the reference, in the same run, on three inputs of about
// 200,000 records: the demo day; the demo day with a quarter of its
// records to and from distinct internet peers (tasks calling 25,000
// addresses, 25,000 scanners), the high-cardinality case; and the demo day
// with the reply of every ACCEPTed record (synth.WithReplies), as real
// flow logs log both directions of a connection.
// Each configuration also parses the text in every iteration, untimed, and
// reports x-parse: its records/s over the parser's in the same iterations.
//
//	go test ./internal/inventory/resolve -run '^$' -bench EnrichedDetection -count 6 | tee out; benchstat out
func BenchmarkEnrichedDetection(b *testing.B) {
	demo, _ := synth.Scenario(11, synth.DetectFormat, day, 24*time.Hour, 200_000, day.Add(14*time.Hour))
	peers, _ := synth.Scenario(11, synth.DetectFormat, day, 24*time.Hour, 150_000, day.Add(14*time.Hour))
	peers = append(peers, synth.InternetPeers(synth.DetectFormat, day, 50_000)...)
	half, _ := synth.Scenario(11, synth.DetectFormat, day, 24*time.Hour, 104_000, day.Add(14*time.Hour))
	replies := synth.WithReplies(synth.DetectFormat, half)
	for _, in := range []struct {
		name string
		text []byte
	}{{"demo", demo}, {"peers", peers}, {"replies", replies}} {
		b.Run(in.name, func(b *testing.B) { benchEnriched(b, in.text) })
	}
}

// parsed parses text (synth.DetectFormat) into record batches, released
// when the benchmark ends, and returns them and their records.
func parsed(b *testing.B, text []byte) ([]arrow.RecordBatch, int64) {
	rd := parse.NewReader(bytes.NewReader(text), parse.Options{Format: synth.DetectFormat})
	batches, err := rd.ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, r := range batches {
			r.Release()
		}
	})
	var n int64
	for _, r := range batches {
		n += r.NumRows()
	}
	return batches, n
}

func benchEnriched(b *testing.B, text []byte) {
	batches, n := parsed(b, text)
	snaps := one{inventory.NewIndex(inventory.DemoSnapshot(day))}
	now := func() time.Time { return day.Add(48 * time.Hour) }
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	type processor interface {
		Process(context.Context, string, arrow.RecordBatch) ([]detect.Alert, error)
	}
	parseAll := func(b *testing.B) {
		rd := parse.NewReader(bytes.NewReader(text), parse.Options{Format: synth.DetectFormat})
		for rd.Next() {
		}
		if err := rd.Err(); err != nil {
			b.Fatal(err)
		}
		rd.Release()
	}
	// run times the detectors over the batches and, with the timer
	// stopped, the parser over the text in the same iterations: x-parse
	// is the ratio of the two rates under the same moment's load.
	run := func(b *testing.B, mk func() processor) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		var parsing time.Duration
		for b.Loop() {
			b.StopTimer()
			t0 := time.Now()
			parseAll(b)
			parsing += time.Since(t0)
			b.StartTimer()
			p := mk()
			for i, r := range batches {
				if _, err := p.Process(context.Background(), fmt.Sprint("b", i), r); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(parsing.Seconds()/b.Elapsed().Seconds(), "x-parse")
	}
	b.Run("reference=parse", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			parseAll(b)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("detect", func(b *testing.B) {
		run(b, func() processor {
			eng, err := detect.New(cfg, detect.NewMemoryState(), now)
			if err != nil {
				b.Fatal(err)
			}
			return eng
		})
	})
	b.Run("detect+names+nat", func(b *testing.B) {
		run(b, func() processor {
			r := resolve.New(snaps, resolve.Options{})
			eng, err := detect.New(cfg, detect.NewMemoryState(), now, detect.WithResolver(r))
			if err != nil {
				b.Fatal(err)
			}
			return detect.NewContextual(eng, r.NAT, nil).WithNATList(r.NATInterfaces)
		})
	})
	// The policy detector by itself: what it adds to detection.
	b.Run("policy", func(b *testing.B) {
		run(b, func() processor {
			r := resolve.New(snaps, resolve.Options{})
			pol, err := detect.NewPolicyDetector(r, detect.NewMemoryState(), now, cfg, r)
			if err != nil {
				b.Fatal(err)
			}
			return pol
		})
	})
	b.Run("detect+names+nat+policy", func(b *testing.B) {
		run(b, func() processor {
			r := resolve.New(snaps, resolve.Options{})
			st := detect.NewMemoryState()
			eng, err := detect.New(cfg, st, now, detect.WithResolver(r))
			if err != nil {
				b.Fatal(err)
			}
			pol, err := detect.NewPolicyDetector(r, st, now, cfg, r)
			if err != nil {
				b.Fatal(err)
			}
			return detect.NewContextual(eng, r.NAT, pol).WithNATList(r.NATInterfaces)
		})
	})
}
