package detect_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/detecttest"
	"github.com/flowq/flowq/internal/parse"
)

// TestDictionaryColumns: string columns as dictionaries give the same
// alerts, evidence and counters as plain ones, whole or sliced at any
// offset (validity bitmaps and indices not aligned), with nulls among the
// optional columns.
func TestDictionaryColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var recs []detecttest.Rec
	for i := range 60 {
		switch i % 6 {
		case 0:
			recs = append(recs, detecttest.Rec{Status: parse.StatusNoData, At: int64(i)})
		case 1:
			recs = append(recs, detecttest.Rec{Src: "10.0.11.51", Dst: "10.0.21.100", DstPort: 20 + i, Bytes: 60, At: int64(i), Action: "REJECT"})
		case 2:
			recs = append(recs, detecttest.Rec{Src: "10.0.12.51", Dst: "10.0.21.100", DstPort: 1000 + i, Bytes: 44, At: int64(i)})
		case 3:
			recs = append(recs, detecttest.Rec{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 300_000, At: int64(i), Dir: "egress", ENI: fmt.Sprint("eni-0", i%4)})
		default:
			recs = append(recs, detecttest.Rec{Src: "10.0.11.50", Dst: "10.0.21.100", Bytes: 90_000, At: int64(i), PktSrc: "10.0.11.52", Service: "S3"})
		}
	}
	rd := parse.NewBytesReader(detecttest.Text(detecttest.Format, recs), parse.Options{Format: detecttest.Format, Allocator: mem})
	defer rd.Release()
	if !rd.Next() {
		t.Fatal("no batch")
	}
	plain := rd.RecordBatch()
	dict := detecttest.DictionaryColumns(t, mem, plain)
	defer dict.Release()
	run := func(rec arrow.RecordBatch) ([]detect.Alert, detect.Summary) {
		cfg := detect.DefaultConfig()
		cfg.ScanPorts, cfg.ExfilBytes = 3, 500_000
		eng, err := detect.New(cfg, detect.NewMemoryState(), func() time.Time { return time.Unix(detecttest.Base+600, 0) })
		if err != nil {
			t.Fatal(err)
		}
		alerts, err := eng.Process(context.Background(), "b", rec)
		if err != nil {
			t.Fatal(err)
		}
		return alerts, eng.Summary()
	}
	for _, from := range []int{0, 1, 3, 9, 14} {
		p, d := plain.NewSlice(int64(from), plain.NumRows()-2), dict.NewSlice(int64(from), dict.NumRows()-2)
		want, ws := run(p)
		got, gs := run(d)
		p.Release()
		d.Release()
		if len(want) < 3 {
			t.Fatalf("from %d: %d alerts, want each detector's", from, len(want))
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("from %d: alerts over dictionaries (-got +want):\n%s", from, diff)
		}
		if diff := cmp.Diff(gs, ws); diff != "" {
			t.Errorf("from %d: summary over dictionaries (-got +want):\n%s", from, diff)
		}
	}
}
