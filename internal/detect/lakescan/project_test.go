package lakescan

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// TestRunReadsLikeFullScan: what Run reads of the lake (the detectors'
// columns only, strings as dictionaries) raises exactly the alerts, evidence
// and summary that every column decoded to plain strings does, over the
// scenario's day with its incidents, with the default configuration and a
// sensitive one that alerts on much of the ordinary traffic, with and
// without a time range that cuts partitions.
func TestRunReadsLikeFullScan(t *testing.T) {
	ctx := context.Background()
	lake, err := store.Open(ctx, filepath.Join(t.TempDir(), "lake"), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := synth.Scenario(3, synth.DetectFormat, day, 6*time.Hour, 30_000, day.Add(2*time.Hour+10*time.Minute))
	recs, err := parse.NewBytesReader(text, parse.Options{Name: "scenario.log", BatchSize: 4096}).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(recs); i += 3 { // several objects per partition
		if _, err := lake.Write(ctx, "scenario#"+string(rune('a'+i)), recs[i:min(i+3, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs {
		r.Release()
	}
	dflt := detect.DefaultConfig()
	dflt.Retention = 0 // history: nothing is late
	sensitive := dflt
	sensitive.ExfilBytes, sensitive.RejectThreshold, sensitive.ScanPorts, sensitive.ExfilAnyPair = 20_000, 2, 3, true
	for _, tc := range []struct {
		name string
		cfg  detect.Config
		tr   store.TimeRange
	}{
		{"default", dflt, store.TimeRange{}},
		{"sensitive", sensitive, store.TimeRange{}},
		{"sensitive in a range", sensitive, store.TimeRange{Since: day.Add(time.Hour + 17*time.Minute), Until: day.Add(4*time.Hour + 5*time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scan := func(read store.ScanOptions) ([]detect.Alert, detect.Summary) {
				eng, err := detect.New(tc.cfg, detect.NewMemoryState(), func() time.Time { return day.Add(48 * time.Hour) })
				if err != nil {
					t.Fatal(err)
				}
				var got []detect.Alert
				_, err = run(ctx, lake, tc.tr, eng, func(_ context.Context, as []detect.Alert) error {
					got = append(got, as...)
					return nil
				}, Options{Workers: 3}, read)
				if err != nil {
					t.Fatal(err)
				}
				return got, eng.Summary()
			}
			want, wantSum := scan(store.ScanOptions{})
			strs, ints := detect.Columns()
			got, gotSum := scan(store.ScanOptions{Columns: append(strs, ints...), Dictionaries: true})
			if len(want) == 0 {
				t.Fatal("no alerts: the comparison proves nothing")
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("alerts, projected (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(gotSum, wantSum); diff != "" {
				t.Errorf("summary, projected (-got +want):\n%s", diff)
			}
			t.Logf("%d alerts, %d records", len(want), wantSum.Records)
		})
	}
}

// TestClockBoundsState: with a Clock and HistoryRetention, a run over three
// days raises exactly the alerts of a run that keeps every window (nothing
// is late, no window is forgotten while records may still reach it), with
// 25-minute windows that straddle partitions and a daily budget rule whose
// windows span two days, while the
// state ends up holding a fraction of the windows.
func TestClockBoundsState(t *testing.T) {
	ctx := context.Background()
	lake, err := store.Open(ctx, filepath.Join(t.TempDir(), "lake"), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := synth.Scenario(5, synth.DetectFormat, day, 72*time.Hour, 40_000, day.Add(50*time.Hour+10*time.Minute))
	recs, err := parse.NewBytesReader(text, parse.Options{Name: "days.log", BatchSize: 8192}).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if _, err := lake.Write(ctx, "days#"+string(rune('a'+i)), recs[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs {
		r.Release()
	}
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	cfg.ExfilBytes, cfg.RejectThreshold, cfg.ScanPorts, cfg.ExfilAnyPair = 20_000, 2, 3, true
	cfg.Window = 25 * time.Minute // windows that straddle partitions
	cfg.ExfilBudgets = []detectconfig.ExfilRule{{Bytes: 400_000, Window: 24 * time.Hour}}
	scan := func(clock *Clock) ([]detect.Alert, detect.Summary, int) {
		c, now := cfg, time.Now
		if clock != nil {
			c.Retention, now = HistoryRetention, clock.Now
		}
		st := detect.NewMemoryState()
		eng, err := detect.New(c, st, now)
		if err != nil {
			t.Fatal(err)
		}
		var got []detect.Alert
		_, err = Run(ctx, lake, store.TimeRange{}, eng, func(_ context.Context, as []detect.Alert) error {
			got = append(got, as...)
			return nil
		}, Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return got, eng.Summary(), st.Len()
	}
	want, wantSum, all := scan(nil)
	got, gotSum, kept := scan(new(Clock))
	if len(want) == 0 {
		t.Fatal("no alerts: the comparison proves nothing")
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("alerts with a Clock (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(gotSum, wantSum); diff != "" {
		t.Errorf("summary with a Clock (-got +want):\n%s", diff)
	}
	if kept*4 > all {
		t.Errorf("state keeps %d of %d keys with a Clock, want under a quarter", kept, all)
	}
	t.Logf("%d alerts; state %d keys with a Clock, %d without", len(want), kept, all)
}
