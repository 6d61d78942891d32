package main

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
)

// sinkFunc is an alert.Sink.
type sinkFunc func(context.Context, []detect.Alert) error

func (f sinkFunc) Send(ctx context.Context, as []detect.Alert) error { return f(ctx, as) }

// TestDetectMatchesRowPath: flowq detect (Arrow batches of the detectors'
// columns, strings as dictionaries, partitions in time order) raises the
// alerts the DuckDB row path it replaced raises over the same lake (the
// benchmark's reference, scanFlows: every row ordered by start), with the
// same counts, bytes, ports and spans, under the default configuration and
// a sensitive one that alerts on much of the scenario's ordinary traffic.
func TestDetectMatchesRowPath(t *testing.T) {
	lake := scenarioLake(t)
	a := &app{lake: lake, stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	ctx := context.Background()
	sensitive := cliDefaults()
	sensitive.ExfilBytes, sensitive.RejectThreshold, sensitive.ScanPorts, sensitive.ExfilAnyPair = 50_000, 2, 3, true
	// What a comparison keeps: evidence and resources depend on how
	// records are batched, not on what the detectors decide.
	type key struct {
		ID, Detector, Src, Dst string
		Window                 time.Time
		Bytes, Packets, Count  int64
		First, Last            time.Time
		Ports                  string
	}
	keys := func(as []detect.Alert) []key {
		var out []key
		for _, al := range as {
			ps := make([]string, len(al.Ports))
			for i, p := range al.Ports {
				ps[i] = strconv.Itoa(p)
			}
			out = append(out, key{al.ID, al.Detector, al.Src, al.Dst, al.WindowStart, al.Bytes, al.Packets, al.Count, al.FirstSeen, al.LastSeen, strings.Join(ps, ",")})
		}
		slices.SortFunc(out, func(x, y key) int { return strings.Compare(x.ID, y.ID) })
		return out
	}
	for name, cfg := range map[string]detect.Config{"default": cliDefaults(), "sensitive": sensitive} {
		t.Run(name, func(t *testing.T) {
			var got []detect.Alert
			collect := sinkFunc(func(_ context.Context, as []detect.Alert) error {
				got = append(got, as...)
				return nil
			})
			if err := runDetect(ctx, a, cfg, timeRange{}, collect, collect); err != nil {
				t.Fatal(err)
			}
			eng, err := detect.New(cfg, detect.NewMemoryState(), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			d, err := openLakeDB(ctx, a, timeRange{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			var want []detect.Alert
			err = scanFlows(ctx, d.DB, func(i int, rec arrow.RecordBatch) error {
				as, err := eng.Process(ctx, "rows#"+strconv.Itoa(i), rec)
				want = append(want, as...)
				if err != nil {
					return err
				}
				return eng.Ack(ctx, as)
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 5 {
				t.Fatalf("row path: %d alerts, want the scenario's 5 at least", len(want))
			}
			if diff := cmp.Diff(keys(got), keys(want)); diff != "" {
				t.Errorf("flowq detect vs the row path (-got +want):\n%s", diff)
			}
			t.Logf("%d alerts alike", len(want))
		})
	}
}
