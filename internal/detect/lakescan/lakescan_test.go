package lakescan

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

const header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"

// hourText is AWS's default format: n records starting every minute from
// the hour h of day.
func hourText(h, n int) (string, []int64) {
	var b strings.Builder
	b.WriteString(header)
	var starts []int64
	for i := range n {
		s := day.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Minute).Unix()
		fmt.Fprintf(&b, "2 123456789012 eni-0a1b2c3d 10.0.1.5 203.0.113.9 4000%d 443 6 3 900 %d %d ACCEPT OK\n", i%10, s, s+30)
		starts = append(starts, s)
	}
	return b.String(), starts
}

// recorder is a Detectors that records the starts it sees, in order, and
// raises one alert per batch.
type recorder struct {
	starts  []int64
	batches []string
	log     []string
}

func (r *recorder) Process(_ context.Context, id string, rec arrow.RecordBatch) ([]detect.Alert, error) {
	col := rec.Column(rec.Schema().FieldIndices(parse.ColStart)[0]).(*array.Int64)
	for i := range col.Len() {
		r.starts = append(r.starts, col.Value(i))
	}
	r.batches = append(r.batches, id)
	return []detect.Alert{{ID: id}}, nil
}

func (r *recorder) Ack(_ context.Context, as []detect.Alert) error {
	r.log = append(r.log, "ack "+as[0].ID)
	return nil
}

// TestRunRangeAndOrder: written out of time order, the records reach the
// detectors partition after partition in time order, only those whose
// start lies in a range that is not hour-aligned, every one once, and each
// batch's alerts are sent before they are acknowledged.
func TestRunRangeAndOrder(t *testing.T) {
	ctx := context.Background()
	lake, err := store.Open(ctx, filepath.Join(t.TempDir(), "lake"), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var all []int64
	for _, h := range []int{10, 8, 9, 12} {
		text, starts := hourText(h, 60)
		all = append(all, starts...)
		recs, err := parse.NewBytesReader([]byte(text), parse.Options{Name: fmt.Sprint(h, ".log")}).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lake.Write(ctx, fmt.Sprint(h, ".log"), recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			r.Release()
		}
	}
	tr := store.TimeRange{Since: day.Add(8*time.Hour + 30*time.Minute), Until: day.Add(10*time.Hour + 15*time.Minute)}
	var want []int64 // the oracle: the written starts in [Since, Until), sorted
	for _, s := range all {
		if s >= tr.Since.Unix() && s < tr.Until.Unix() {
			want = append(want, s)
		}
	}
	slices.Sort(want)
	for _, workers := range []int{1, 4} {
		r := &recorder{}
		st, err := Run(ctx, lake, tr, r, func(_ context.Context, as []detect.Alert) error {
			r.log = append(r.log, "send "+as[0].ID)
			return nil
		}, Options{Workers: workers, BatchPrefix: "t"})
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Clone(r.starts)
		hours := func(s []int64) []int64 {
			out := make([]int64, len(s))
			for i, v := range s {
				out[i] = v / 3600
			}
			return out
		}
		if !slices.IsSorted(hours(got)) {
			t.Errorf("workers %d: partitions out of time order: %v", workers, hours(got))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("workers %d: %d records %v..., want %d", workers, len(got), got[:min(3, len(got))], len(want))
		}
		if st.Files != 3 || st.Alerts != len(r.batches) || r.batches[0] != "t#1" {
			t.Errorf("workers %d: stats %+v, batches %v", workers, st, r.batches)
		}
		for i, id := range r.batches {
			if r.log[2*i] != "send "+id || r.log[2*i+1] != "ack "+id {
				t.Fatalf("workers %d: log %v: want send before ack per batch", workers, r.log)
			}
		}
	}

	// A failing send stops the scan, unacknowledged.
	r := &recorder{}
	boom := errors.New("boom")
	if _, err := Run(ctx, lake, store.TimeRange{}, r, func(context.Context, []detect.Alert) error { return boom }, Options{}); !errors.Is(err, boom) {
		t.Errorf("err %v, want boom", err)
	}
	if len(r.batches) != 1 || len(r.log) != 0 {
		t.Errorf("after a failed send: batches %v, acks %v", r.batches, r.log)
	}
}
