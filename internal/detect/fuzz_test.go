package detect_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/detecttest"
	"github.com/flowq/flowq/internal/parse"
)

// FuzzProcess: any flow-log text the parser accepts goes through the
// detectors without a panic, and a replay of an acknowledged batch never alerts.
func FuzzProcess(f *testing.F) {
	for _, tc := range detecttest.Cases() {
		for _, b := range tc.Batches {
			f.Add(detecttest.Text(detecttest.Format, b.Recs))
		}
	}
	f.Add([]byte("2 10.0.11.50 ::ffff:203.0.113.7 1 2 6 3 4000000 1700000000 1700000060 ACCEPT OK egress fe80::1%eth0 010.0.0.1 S3\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		cfg := detect.DefaultConfig()
		cfg.ExfilBytes = 100
		cfg.ScanPorts = 2
		eng, err := detect.New(cfg, detect.NewMemoryState(), func() time.Time { return time.Unix(detecttest.Base+3600, 0) })
		if err != nil {
			t.Fatal(err)
		}
		rd := parse.NewBytesReader(text, parse.Options{Format: detecttest.Format})
		defer rd.Release()
		for rd.Next() {
			alerts, err := eng.Process(context.Background(), "fuzz", rd.RecordBatch())
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Ack(context.Background(), alerts); err != nil {
				t.Fatal(err)
			}
			if again, err := eng.Process(context.Background(), "fuzz", rd.RecordBatch()); err != nil || len(again) != 0 {
				t.Fatalf("replay: %v %v", again, err)
			}
		}
	})
}
