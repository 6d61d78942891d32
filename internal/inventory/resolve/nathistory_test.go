package resolve_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// TestNATReplacedHistory: `flowq detect` over history judges a day on
// which the NAT was replaced (the NAT instance's interface in the morning's
// snapshot, a new one in the evening's). Each transfer raises one
// exfiltration alert, from the task, whichever NAT carried it. Before, the
// NAT interfaces were those of the newest snapshot only, so the morning's
// NAT legs were judged as traffic of their own: a second alert, from the
// old NAT's address, for the same bytes.
func TestNATReplacedHistory(t *testing.T) {
	const oldNAT, newNAT = "eni-0a1b2c3d4e5f600aa", "eni-0a1b2c3d4e5f600bb"
	m := &meta{objs: map[string][]byte{}}
	evening := day.Add(12 * time.Hour)
	replaced := inventory.DemoSnapshot(evening)
	for i := range replaced.Interfaces {
		if ifc := &replaced.Interfaces[i]; ifc.ID == oldNAT {
			ifc.ID, ifc.PrivateIPs, ifc.InstanceID = newNAT, []string{"10.0.1.11"}, "i-0flowq0nat0002"
		}
	}
	for i := range replaced.RouteTables {
		for k := range replaced.RouteTables[i].Routes {
			if r := &replaced.RouteTables[i].Routes[k]; r.Target == oldNAT {
				r.Target = newNAT
			}
		}
	}
	for _, s := range []*inventory.Snapshot{inventory.DemoSnapshot(day), replaced} {
		data, err := inventory.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		m.PutMeta(context.Background(), inventory.MetaName(s.Taken), data)
	}
	// One transfer through each NAT, as AWS logs it: on the task's
	// interface, and on the NAT's as the leg to the NAT and the translated
	// leg.
	legs := func(at int64, src, nat, natIP, dst string) string {
		line := func(eni, s, d string, sp int) string {
			return fmt.Sprintf("5 123456789012 %s %s %s %d 443 6 900 60000000 %d %d ACCEPT OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv4 %s %s - egress\n",
				eni, s, d, sp, at, at+50, s, d)
		}
		return line("eni-0a1b2c3d4e5f60011", src, dst, 43100) + line(nat, src, natIP, 43100) + line(nat, natIP, dst, 61000)
	}
	text := synth.DetectFormat.Header() + "\n" +
		legs(day.Add(2*time.Hour).Unix(), "10.0.11.50", oldNAT, "10.0.1.10", "203.0.113.9") +
		legs(day.Add(14*time.Hour).Unix(), "10.0.11.50", newNAT, "10.0.1.11", "203.0.113.10")
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	cfg.Detectors = []string{detect.Exfiltration}
	now := func() time.Time { return day.Add(48 * time.Hour) }
	c, err := resolve.Contextual(m, cfg, detect.NewMemoryState(), now, resolve.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rd := parse.NewReader(strings.NewReader(text), parse.Options{Format: synth.DetectFormat})
	defer rd.Release()
	var got []string
	for k := 0; rd.Next(); k++ {
		alerts, err := c.Process(context.Background(), fmt.Sprint("b", k), rd.RecordBatch())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			got = append(got, a.Src+" -> "+a.Dst)
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	want := "10.0.11.50 -> 203.0.113.10, 10.0.11.50 -> 203.0.113.9"
	slices.Sort(got)
	if g := strings.Join(got, ", "); g != want {
		t.Errorf("exfiltration alerts %s, want %s (one per transfer, from the task)", g, want)
	}
	if _, skipped := c.Summary(); skipped != 4 {
		t.Errorf("%d records left out as NAT legs, want 4", skipped)
	}
}

// countingMeta counts the snapshots read.
type countingMeta struct {
	*meta
	reads atomic.Int32
}

func (m *countingMeta) GetMeta(ctx context.Context, name string) ([]byte, error) {
	if strings.HasSuffix(name, ".json.gz") {
		m.reads.Add(1)
	}
	return m.meta.GetMeta(ctx, name)
}

// TestNATListBoundedReads: a batch whose start times run from the epoch to
// a time in milliseconds (the reference notes records with millisecond
// timestamps) reads a few of the archive's 20 snapshots for its NAT list,
// not all of them, and still knows the newest's NAT.
func TestNATListBoundedReads(t *testing.T) {
	m := &countingMeta{meta: &meta{objs: map[string][]byte{}}}
	for h := range 20 {
		data, err := inventory.Encode(inventory.DemoSnapshot(day.Add(time.Duration(h) * time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		m.PutMeta(context.Background(), inventory.MetaName(day.Add(time.Duration(h)*time.Hour)), data)
	}
	r := resolve.Open(m, 0, resolve.Options{})
	list := r.NATInterfacesOver(time.Unix(0, 0), time.Unix(day.Unix()*1000, 0))
	if !slices.Contains(list, "eni-0a1b2c3d4e5f600aa") {
		t.Errorf("NAT list %v lacks the NAT instance", list)
	}
	if n := m.reads.Load(); n > 4 {
		t.Errorf("%d snapshots read for one batch's NAT list, want at most 4", n)
	}
	// Again: what was read is kept.
	r.NATInterfacesOver(time.Unix(0, 0), time.Unix(day.Unix()*1000, 0))
	if n := m.reads.Load(); n > 4 {
		t.Errorf("%d snapshots read for two batches' NAT lists, want at most 4", n)
	}
}
