package detect_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/detecttest"
	"github.com/flowq/flowq/internal/parse"
)

// subsetFormat returns detecttest.Format with only the fields whose bit is
// set in mask, always keeping srcaddr, dstaddr and start (the columns the
// detectors need). Bit i stands for field i.
func subsetFormat(mask uint32) *parse.Format {
	var names []string
	for i, f := range detecttest.Format.Fields() {
		switch f.Name {
		case "srcaddr", "dstaddr", "start":
		default:
			if mask&(1<<i) == 0 {
				continue
			}
		}
		names = append(names, "${"+f.Name+"}")
	}
	return parse.MustParseFormat(strings.Join(names, " "))
}

// process runs text in format fm through a fresh engine with low thresholds,
// acknowledging every alert and checking that a replay alerts nothing.
func process(t *testing.T, fm *parse.Format, text []byte) {
	cfg := detect.DefaultConfig()
	cfg.ExfilBytes = 100
	cfg.ScanPorts = 2
	eng, err := detect.New(cfg, detect.NewMemoryState(), func() time.Time { return time.Unix(detecttest.Base+3600, 0) })
	if err != nil {
		t.Fatal(err)
	}
	rd := parse.NewBytesReader(text, parse.Options{Format: fm})
	defer rd.Release()
	for rd.Next() {
		alerts, err := eng.Process(context.Background(), "fuzz", rd.RecordBatch())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			if a.Title == "" || int64(len(a.Evidence))+a.EvidenceMore != a.Count {
				t.Fatalf("alert %+v: title or evidence count wrong", a)
			}
		}
		if err := eng.Ack(context.Background(), alerts); err != nil {
			t.Fatal(err)
		}
		if again, err := eng.Process(context.Background(), "fuzz", rd.RecordBatch()); err != nil || len(again) != 0 {
			t.Fatalf("replay: %v %v", again, err)
		}
	}
}

// FuzzProcess: any flow-log text the parser accepts, in any format (any
// subset of the fields the detectors read, chosen by mask), goes through
// the detectors without a panic, and a replay of an acknowledged batch
// never alerts.
func FuzzProcess(f *testing.F) {
	for _, mask := range []uint32{^uint32(0), 0, 0b1111, 0x5555, 0xaaaa} {
		fm := subsetFormat(mask)
		for _, tc := range detecttest.Cases() {
			for _, b := range tc.Batches {
				f.Add(detecttest.Text(fm, b.Recs), mask)
			}
		}
	}
	f.Add([]byte("2 10.0.11.50 ::ffff:203.0.113.7 1 2 6 3 4000000 1700000000 1700000060 ACCEPT OK egress fe80::1%eth0 010.0.0.1 S3\n"), ^uint32(0))
	f.Fuzz(func(t *testing.T, text []byte, mask uint32) {
		process(t, subsetFormat(mask), text)
	})
}

// TestOptionalColumns: every column but srcaddr, dstaddr and start may be
// missing; the detectors still run every case and build whole alerts.
func TestOptionalColumns(t *testing.T) {
	for i, f := range detecttest.Format.Fields() {
		switch f.Name {
		case "srcaddr", "dstaddr", "start":
			continue
		}
		fm := subsetFormat(^uint32(0) &^ (1 << i))
		t.Run("without "+f.Name, func(t *testing.T) {
			for _, tc := range detecttest.Cases() {
				for _, b := range tc.Batches {
					process(t, fm, detecttest.Text(fm, b.Recs))
				}
			}
		})
	}
	t.Run("only the addresses and start", func(t *testing.T) {
		fm := subsetFormat(0)
		for _, tc := range detecttest.Cases() {
			for _, b := range tc.Batches {
				process(t, fm, detecttest.Text(fm, b.Recs))
			}
		}
	})
}
