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
// beside the plain detectors and the parser, the reference, in the same
// run.
//
//	go test ./internal/inventory/resolve -run '^$' -bench EnrichedDetection -benchtime 5x
func BenchmarkEnrichedDetection(b *testing.B) {
	text, _ := synth.Scenario(11, synth.DetectFormat, day, 24*time.Hour, 200_000, day.Add(14*time.Hour))
	rd := parse.NewReader(bytes.NewReader(text), parse.Options{Format: synth.DetectFormat})
	batches, err := rd.ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	var n int64
	for _, r := range batches {
		n += r.NumRows()
	}
	snaps := one{inventory.NewIndex(inventory.DemoSnapshot(day))}
	now := func() time.Time { return day.Add(48 * time.Hour) }
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	type processor interface {
		Process(context.Context, string, arrow.RecordBatch) ([]detect.Alert, error)
	}
	run := func(b *testing.B, mk func() processor) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			p := mk()
			for i, r := range batches {
				if _, err := p.Process(context.Background(), fmt.Sprint("b", i), r); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("reference=parse", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			rd := parse.NewReader(bytes.NewReader(text), parse.Options{Format: synth.DetectFormat})
			for rd.Next() {
			}
			if err := rd.Err(); err != nil {
				b.Fatal(err)
			}
			rd.Release()
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
