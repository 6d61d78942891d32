package resolve_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/synth"
)

// BenchmarkNATListOver: detection with names and NAT legs over the demo
// day (about 200,000 records), the NAT interfaces compared in place with
// the newest snapshot's list (list, the reference) or with those of the
// snapshots in force over each batch's start times (over: what
// resolve.Contextual does since the NAT could have been replaced), from a
// lake of two snapshots.
//
//	go test ./internal/inventory/resolve -run '^$' -bench NATListOver -benchtime 20x -count 3
func BenchmarkNATListOver(b *testing.B) {
	demo, _ := synth.Scenario(11, synth.DetectFormat, day, 24*time.Hour, 200_000, day.Add(14*time.Hour))
	batches, n := parsed(b, demo)
	m := &meta{objs: map[string][]byte{}}
	for _, at := range []time.Time{day, day.Add(12 * time.Hour)} {
		data, err := inventory.Encode(inventory.DemoSnapshot(at))
		if err != nil {
			b.Fatal(err)
		}
		m.PutMeta(context.Background(), inventory.MetaName(at), data)
	}
	now := func() time.Time { return day.Add(48 * time.Hour) }
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	cfg.Detectors = []string{detect.Exfiltration, detect.Reject, detect.PortScan}
	for _, over := range []bool{false, true} {
		name := "reference=list"
		if over {
			name = "over"
		}
		b.Run(name, func(b *testing.B) {
			r := resolve.Open(m, 0, resolve.Options{})
			b.ReportAllocs()
			for b.Loop() {
				eng, err := detect.New(cfg, detect.NewMemoryState(), now, detect.WithResolver(r))
				if err != nil {
					b.Fatal(err)
				}
				c := detect.NewContextual(eng, r.NAT, nil)
				if over {
					c = c.WithNATListOver(r.NATInterfacesOver)
				} else {
					c = c.WithNATList(r.NATInterfaces)
				}
				for i, rec := range batches {
					if _, err := c.Process(context.Background(), fmt.Sprint("b", i), rec); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
