package policy

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// TestPortBox: boxes worked out by hand from the demo network's rules.
// From an ECS task (tradai-ecs-sg: tcp 443, 5000, 5432, 8000, 8002; the
// private ACL: tcp 443, 5000, 5432, 8000-8002, 1024-65535) to the database
// (tradai-rds-sg: 5432; the database ACL: 5432, 1024-65535), the tcp rules
// start or stop at 443, 444, 1024, 5000, 5001, 5432, 5433, 8000, 8001,
// 8002, 8003 (and every box is cut at 1); the ACL's udp entries and the
// group's udp 53 do not count.
func TestPortBox(t *testing.T) {
	x := inventory.NewIndex(inventory.DemoSnapshot(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)))
	task, db, web := netip.MustParseAddr("10.0.11.51"), netip.MustParseAddr("10.0.21.100"), netip.MustParseAddr("203.0.113.5")
	alb := netip.MustParseAddr("10.0.1.25")
	type box struct{ slo, shi, dlo, dhi int }
	for _, tc := range []struct {
		name  string
		q     Query
		order bool
		want  box
	}{
		{"a request from an ephemeral port", Query{Src: task, Dst: db, DstPort: 5432, SrcPort: 52046, Protocol: 6}, false, box{8003, 65535, 5432, 5432}},
		{"its reply", Query{Src: db, Dst: task, DstPort: 52046, SrcPort: 5432, Protocol: 6}, false, box{5432, 5432, 8003, 65535}},
		{"its reply, in order", Query{Src: db, Dst: task, DstPort: 52046, SrcPort: 5432, Protocol: 6}, true, box{5432, 5432, 8003, 65535}},
		{"between rules", Query{Src: task, Dst: db, DstPort: 5432, SrcPort: 100, Protocol: 6}, false, box{1, 442, 5432, 5432}},
		{"port 0", Query{Src: task, Dst: db, DstPort: 5432, Protocol: 6}, false, box{0, 0, 5432, 5432}},
		// In order: the source ports stay at or above every destination
		// port of the box, or below.
		{"one cell, source above", Query{Src: task, Dst: db, DstPort: 9000, SrcPort: 9500, Protocol: 6}, true, box{9500, 65535, 8003, 9500}},
		{"one cell, source below", Query{Src: task, Dst: db, DstPort: 9500, SrcPort: 9000, Protocol: 6}, true, box{8003, 9499, 9500, 65535}},
		{"one cell, unordered", Query{Src: task, Dst: db, DstPort: 9500, SrcPort: 9000, Protocol: 6}, false, box{8003, 65535, 8003, 65535}},
		{"no ports: icmp", Query{Src: task, Dst: db, Protocol: 1}, false, box{0, 0, 0, 0}},
		{"icmp, any port but 0", Query{Src: task, Dst: db, SrcPort: 7, DstPort: 3, Protocol: 1}, false, box{1, 65535, 1, 65535}},
		// The internet has no rules of its own: the ALB's group (443, 80,
		// 5000, 8000-8002) and the public ACL.
		{"from the internet", Query{Src: web, Dst: alb, DstPort: 443, SrcPort: 40000, Protocol: 6}, false, box{8003, 65535, 443, 443}},
		{"udp", Query{Src: task, Dst: web, DstPort: 53, SrcPort: 40000, Protocol: 17}, false, box{1024, 65535, 53, 53}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got box
			if got.slo, got.shi, got.dlo, got.dhi = PortBox(x, tc.q, tc.order); got != tc.want {
				t.Errorf("PortBox = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestPortBoxChecksAlike: over random flows between the demo network's
// addresses and the internet, on the demo network and on variants with rules
// removed, every check of the flow's request and replies, and of the
// reverse connection, has the same result for every pair of ports of the
// box as for the flow's own (its corners and random ports between); in
// order, the ports keep their order.
func TestPortBoxChecksAlike(t *testing.T) {
	day := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	demo := inventory.DemoSnapshot(day)
	noDBIngress := inventory.DemoSnapshot(day)
	noPrivateEphemeral := inventory.DemoSnapshot(day)
	for i := range noDBIngress.NetworkACLs {
		e := &noDBIngress.NetworkACLs[i].Entries
		if noDBIngress.NetworkACLs[i].ID == "acl-0database" {
			*e = slices.DeleteFunc(*e, func(e inventory.ACLEntry) bool { return !e.Egress && e.Number == 100 })
		}
		e = &noPrivateEphemeral.NetworkACLs[i].Entries
		if noPrivateEphemeral.NetworkACLs[i].ID == "acl-0private" {
			*e = slices.DeleteFunc(*e, func(e inventory.ACLEntry) bool { return e.Number == 130 })
		}
	}
	addrs := []string{"10.0.1.25", "10.0.2.25", "10.0.1.10", "10.0.11.50", "10.0.11.51", "10.0.12.50", "10.0.21.100", "10.0.22.100",
		"10.0.11.200", "10.0.11.9", "203.0.113.5", "198.18.7.9", "2001:db8::5", "10.0.21.7"}
	rng := rand.New(rand.NewPCG(4, 4))
	results := func(x *inventory.Index, q Query) []string {
		res, err := Quick(x, q)
		if err != nil {
			return []string{err.Error()}
		}
		var out []string
		for _, s := range res.Steps {
			out = append(out, s.Check+"="+s.Result)
		}
		return out
	}
	checked := 0
	for _, s := range []*inventory.Snapshot{demo, noDBIngress, noPrivateEphemeral} {
		x := inventory.NewIndex(s)
		for range 400 {
			q := Query{Src: netip.MustParseAddr(addrs[rng.IntN(len(addrs))]), Dst: netip.MustParseAddr(addrs[rng.IntN(len(addrs))]),
				DstPort: []int{22, 53, 80, 443, 5000, 5432, 8000, 8001, 8002, 1024, 40000}[rng.IntN(11)], Protocol: []int{6, 6, 17}[rng.IntN(3)]}
			if q.Src.Is4() != q.Dst.Is4() {
				continue
			}
			q.SrcPort = []int{1 + rng.IntN(65535), 32768 + rng.IntN(28232), q.DstPort, rng.IntN(1024) + 1, 0}[rng.IntN(5)]
			if rng.IntN(3) == 0 { // a reply: from the service's port to the client's
				q.SrcPort, q.DstPort = q.DstPort, q.SrcPort
			}
			order := rng.IntN(2) == 0
			slo, shi, dlo, dhi := PortBox(x, q, order)
			if slo > q.SrcPort || shi < q.SrcPort || dlo > q.DstPort || dhi < q.DstPort {
				t.Fatalf("%+v: box %d..%d x %d..%d leaves out the flow's own ports", q, slo, shi, dlo, dhi)
			}
			pairs := [][2]int{{slo, dlo}, {shi, dhi}, {slo, dhi}, {shi, dlo}}
			for range 6 {
				pairs = append(pairs, [2]int{slo + rng.IntN(shi-slo+1), dlo + rng.IntN(dhi-dlo+1)})
			}
			rev := Query{Src: q.Dst, Dst: q.Src, DstPort: q.SrcPort, SrcPort: q.DstPort, Protocol: q.Protocol}
			want, wantRev := results(x, q), results(x, rev)
			for _, p := range pairs {
				qp, rp := q, rev
				qp.SrcPort, qp.DstPort = p[0], p[1]
				rp.DstPort, rp.SrcPort = p[0], p[1]
				if got := results(x, qp); !slices.Equal(got, want) {
					t.Errorf("%+v: box %d..%d x %d..%d, ports %v: checks %v, want %v", q, slo, shi, dlo, dhi, p, got, want)
				}
				if got := results(x, rp); !slices.Equal(got, wantRev) {
					t.Errorf("%+v reversed: box %d..%d x %d..%d, ports %v: checks %v, want %v", q, slo, shi, dlo, dhi, p, got, wantRev)
				}
				if order && (p[0] < p[1]) != (q.SrcPort < q.DstPort) {
					t.Errorf("%+v: box %d..%d x %d..%d in order holds ports %v", q, slo, shi, dlo, dhi, p)
				}
				checked++
			}
		}
	}
	if checked < 10_000 {
		t.Errorf("only %d ports checked", checked)
	}
}
