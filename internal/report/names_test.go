package report

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// fakeNames knows one host and two subnets: a /20 (wider than the
// sankey's /24 groups: they merge) and a /26 (narrower: left alone).
type fakeNames struct{}

func (fakeNames) Host(addr string) string {
	if addr == "10.0.1.5" {
		return "web-1"
	}
	return ""
}

func (fakeNames) Subnet(addr string) (string, string) {
	switch addr {
	case "10.0.1.0", "10.0.2.0":
		return "app", "10.0.0.0/20"
	case "10.0.3.0":
		return "tiny", "10.0.3.0/26"
	}
	return "", ""
}

func TestNames(t *testing.T) {
	d := &Data{
		Pairs: []Pair{{Src: "10.0.1.5", Dst: "198.51.100.7", Bytes: 5}},
		Hosts: []Host{{Addr: "10.0.1.5"}, {Addr: "10.0.2.9"}},
		Sankey: []Link{
			{From: "10.0.1.0/24", To: "internet", Bytes: 10, Flows: 1},
			{From: "10.0.2.0/24", To: "internet", Bytes: 20, Flows: 2},
			{From: "10.0.3.0/24", To: "10.0.1.0/24", Bytes: 5, Flows: 1},
		},
	}
	d.name(fakeNames{})
	if d.Pairs[0].SrcName != "web-1" || d.Pairs[0].DstName != "" || d.Hosts[0].Name != "web-1" || d.Hosts[1].Name != "" {
		t.Errorf("host names: %+v %+v", d.Pairs, d.Hosts)
	}
	want := []Link{
		{From: "app 10.0.0.0/20", To: "internet", Bytes: 30, Flows: 3},
		{From: "10.0.3.0/24", To: "app 10.0.0.0/20", Bytes: 5, Flows: 1},
	}
	if diff := cmp.Diff(d.Sankey, want); diff != "" {
		t.Errorf("sankey (-got +want):\n%s", diff)
	}
	(&Data{Pairs: []Pair{{Src: "10.0.1.5"}}}).name(nil) // nil Names: nothing to do, no panic
}

// TestIndexNames names the reference network's hosts from its inventory
// snapshot, the way flowq report does when the lake holds one.
func TestIndexNames(t *testing.T) {
	n := IndexNames(inventory.NewIndex(inventory.DemoSnapshot(day)))
	if got := n.Host(synth.ECS[0].IP); got == "" {
		t.Errorf("no name for the ECS task %s", synth.ECS[0].IP)
	}
	if got := n.Host("203.0.113.77"); got != "" {
		t.Errorf("an internet address has the name %q", got)
	}
	if name, cidr := n.Subnet(synth.ECS[0].IP); name == "" || cidr == "" {
		t.Errorf("no subnet for %s: %q %q", synth.ECS[0].IP, name, cidr)
	}
	if got := n.Host("not an address"); got != "" {
		t.Errorf("Host(garbage) = %q", got)
	}
}

// TestDetectFindsTheIncidents runs Detect over the lake of a day with the
// four injected incidents: every alert the incidents expect is there.
func TestDetectFindsTheIncidents(t *testing.T) {
	text, incidents := synth.Scenario(3, synth.DetectFormat, day, 24*time.Hour, 4000, day.Add(14*time.Hour))
	f := newFixture(t, []string{string(text)}, store.TimeRange{})
	as, err := Detect(context.Background(), f.lake, store.TimeRange{Since: day, Until: day.Add(24 * time.Hour)}, historyConfig())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range as {
		got = append(got, a.Detector+" "+a.Src+" "+a.Dst)
	}
	for _, in := range incidents {
		for _, e := range in.Alerts {
			if !slices.Contains(got, e.Detector+" "+e.Src+" "+e.Dst) {
				t.Errorf("incident %s: no %s alert %s -> %s; got %v", in.Name, e.Detector, e.Src, e.Dst, got)
			}
		}
	}
}

// TestDetectNamesResources: with an inventory snapshot in the lake, the
// report's alerts are flowq detect's, resources named (the report used to
// run the bare detectors, without the lake's inventory).
func TestDetectNamesResources(t *testing.T) {
	text, _ := synth.Scenario(3, synth.DetectFormat, day, 24*time.Hour, 4000, day.Add(14*time.Hour))
	f := newFixture(t, []string{string(text)}, store.TimeRange{})
	ctx := context.Background()
	arch, err := inventory.OpenArchive(ctx, f.lake, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arch.Save(ctx, inventory.DemoSnapshot(day)); err != nil {
		t.Fatal(err)
	}
	as, err := Detect(ctx, f.lake, store.TimeRange{Since: day, Until: day.Add(24 * time.Hour)}, historyConfig())
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, a := range as {
		if a.SrcResource != nil || a.DstResource != nil {
			named++
		}
	}
	if len(as) == 0 || named == 0 {
		t.Errorf("%d alerts, %d with a named resource: want every incident's internal host named", len(as), named)
	}
}
