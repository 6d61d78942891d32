package detect_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// TestScenario runs the detectors over generated traffic with the known
// incidents injected: they must raise exactly the incidents' alerts, however
// much ordinary traffic surrounds them.
func TestScenario(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		span  time.Duration
		n     int
		batch int
	}{
		{"two hours", 2 * time.Hour, 4000, 500},
		{"busy day", 24 * time.Hour, 150_000, 16384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, incidents := synth.Scenario(7, synth.DetectFormat, day.Add(9*time.Hour), tc.span, tc.n, day.Add(9*time.Hour+10*time.Minute))
			var want []string
			for _, in := range incidents {
				for _, a := range in.Alerts {
					want = append(want, fmt.Sprintf("%s %s %s", a.Detector, a.Src, a.Dst))
				}
			}
			slices.Sort(want)
			eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return day.Add(30 * time.Hour) })
			if err != nil {
				t.Fatal(err)
			}
			rd := parse.NewBytesReader(text, parse.Options{BatchSize: tc.batch})
			defer rd.Release()
			var got []string
			for i := 0; rd.Next(); i++ {
				alerts, err := eng.Process(context.Background(), fmt.Sprint("scenario#", i), rd.RecordBatch())
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range alerts {
					got = append(got, fmt.Sprintf("%s %s %s", a.Detector, a.Src, a.Dst))
					if a.Detector == detect.Exfiltration && (a.Bytes != synth.ExfilBytes || a.Count != 7) {
						t.Errorf("exfiltration alert: %d bytes in %d records, want %d in 7", a.Bytes, a.Count, synth.ExfilBytes)
					}
					if a.Detector == detect.PortScan && len(a.Ports) != len(synth.ScanPorts) {
						t.Errorf("port-scan alert: %d ports, want %d", len(a.Ports), len(synth.ScanPorts))
					}
				}
				if err := eng.Ack(context.Background(), alerts); err != nil {
					t.Fatal(err)
				}
			}
			slices.Sort(got)
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("alerts (-got +want):\n%s", diff)
			}
			s := eng.Summary()
			if s.InboundRejects == 0 || s.Skipped == 0 {
				t.Errorf("summary %+v: want inbound rejects and NODATA counted", s)
			}
		})
	}
}
