package policy

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// TestPortCell: cells worked out by hand from the demo network's rules.
// From an ECS task (tradai-ecs-sg: tcp 443, 5000, 5432, 8000, 8002; the
// private ACL: tcp 443, 5000, 5432, 8000-8002, 1024-65535) to the database
// (tradai-rds-sg: 5432; the database ACL: 5432, 1024-65535), the tcp rules
// start or stop at 443, 444, 1024, 5000, 5001, 5432, 5433, 8000, 8001,
// 8002, 8003; the ACL's udp entries and the group's udp 53 do not count.
func TestPortCell(t *testing.T) {
	x := inventory.NewIndex(inventory.DemoSnapshot(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)))
	task, db, web := netip.MustParseAddr("10.0.11.51"), netip.MustParseAddr("10.0.21.100"), netip.MustParseAddr("203.0.113.5")
	alb := netip.MustParseAddr("10.0.1.25")
	for _, tc := range []struct {
		name   string
		q      Query
		cuts   []int
		lo, hi int
	}{
		{"an ephemeral port", Query{Src: task, Dst: db, DstPort: 5432, SrcPort: 52046, Protocol: 6}, nil, 8003, 65535},
		{"the server's port", Query{Src: task, Dst: db, DstPort: 5432, SrcPort: 5432, Protocol: 6}, nil, 5432, 5432},
		{"between rules", Query{Src: task, Dst: db, DstPort: 5432, SrcPort: 100, Protocol: 6}, nil, 0, 442},
		{"port 0", Query{Src: task, Dst: db, DstPort: 5432, Protocol: 6}, nil, 0, 442},
		{"port 0, cut at 1", Query{Src: task, Dst: db, DstPort: 5432, Protocol: 6}, []int{1}, 0, 0},
		{"cut at the destination port", Query{Src: task, Dst: db, DstPort: 9000, SrcPort: 8500, Protocol: 6}, []int{1, 9000}, 8003, 8999},
		{"above it", Query{Src: task, Dst: db, DstPort: 9000, SrcPort: 9000, Protocol: 6}, []int{1, 9000}, 9000, 65535},
		{"no ports: icmp", Query{Src: task, Dst: db, SrcPort: 0, Protocol: 1}, []int{1}, 0, 0},
		{"no ports, no cuts", Query{Src: task, Dst: db, SrcPort: 7, Protocol: 1}, nil, 0, 65535},
		// The internet has no rules of its own: the ALB's group (443, 80,
		// 5000, 8000-8002) and the public ACL.
		{"from the internet", Query{Src: web, Dst: alb, DstPort: 443, SrcPort: 40000, Protocol: 6}, nil, 8003, 65535},
		{"udp", Query{Src: task, Dst: web, DstPort: 53, SrcPort: 40000, Protocol: 17}, nil, 1024, 65535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if lo, hi := PortCell(x, tc.q, tc.cuts...); lo != tc.lo || hi != tc.hi {
				t.Errorf("PortCell = %d..%d, want %d..%d", lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

// TestPortCellChecksAlike: over random flows between the demo network's
// addresses and the internet, on the demo network and on variants with rules
// removed, every check of the flow's request and replies, and of the
// reverse connection to the client's port, has the same result for every
// client port of the cell as for the flow's own (its bounds, their
// neighbours inside and random ports between).
func TestPortCellChecksAlike(t *testing.T) {
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
			q.SrcPort = []int{1 + rng.IntN(65535), 32768 + rng.IntN(28232), q.DstPort, rng.IntN(1024) + 1}[rng.IntN(4)]
			lo, hi := PortCell(x, q, 1, q.DstPort)
			if lo > q.SrcPort || hi < q.SrcPort {
				t.Fatalf("%+v: cell %d..%d leaves out the flow's own port", q, lo, hi)
			}
			ports := []int{lo, hi, min(lo+1, hi), max(hi-1, lo)}
			for range 6 {
				ports = append(ports, lo+rng.IntN(hi-lo+1))
			}
			rev := Query{Src: q.Dst, Dst: q.Src, DstPort: q.SrcPort, SrcPort: q.DstPort, Protocol: q.Protocol}
			want, wantRev := results(x, q), results(x, rev)
			for _, p := range ports {
				qp, rp := q, rev
				qp.SrcPort, rp.DstPort = p, p
				if got := results(x, qp); !slices.Equal(got, want) {
					t.Errorf("%+v: cell %d..%d, port %d: checks %v, want %v", q, lo, hi, p, got, want)
				}
				if got := results(x, rp); !slices.Equal(got, wantRev) {
					t.Errorf("%+v reversed: cell %d..%d, port %d: checks %v, want %v", q, lo, hi, p, got, wantRev)
				}
				checked++
			}
		}
	}
	if checked < 10_000 {
		t.Errorf("only %d ports checked", checked)
	}
}
