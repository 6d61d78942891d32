package policy_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/policy"
)

// classSnapshot is the demo network with IPv6, a prefix list in a security
// group and a route, network ACL entries for narrow internet ranges and a
// reference to a group the snapshot lacks: every kind of prefix the classes
// must respect.
func classSnapshot() *inventory.Snapshot {
	s := inventory.DemoSnapshot(time.Unix(0, 0))
	s.PrefixLists = append(s.PrefixLists, inventory.PrefixList{ID: "pl-0partners", Name: "partners", CIDRs: []string{"198.51.100.0/25", "2001:db8:77::/48"}})
	sg(s, "sg-0alb").Ingress = append(sg(s, "sg-0alb").Ingress,
		inventory.SGRule{Protocol: "tcp", FromPort: 22, ToPort: 22, PrefixList: "pl-0partners"},
		inventory.SGRule{Protocol: "tcp", FromPort: 8443, ToPort: 8443, CIDR: "2001:db8::/32"})
	// A peered VPC's group, which the snapshot lacks: its members may be
	// any private address outside the snapshot.
	sg(s, "sg-0rds").Ingress = append(sg(s, "sg-0rds").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Group: "sg-0peer"})
	a := acl(s, "acl-0public")
	a.Entries = append(a.Entries,
		inventory.ACLEntry{Number: 10, Protocol: "6", Allow: false, CIDR: "203.0.113.64/26", FromPort: 443, ToPort: 443},
		inventory.ACLEntry{Number: 11, Protocol: "-1", Allow: true, CIDR: "2001:db8::/32", FromPort: -1, ToPort: -1},
		inventory.ACLEntry{Number: 11, Egress: true, Protocol: "-1", Allow: true, CIDR: "2001:db8::/32", FromPort: -1, ToPort: -1})
	for i := range s.RouteTables {
		s.RouteTables[i].Routes = append(s.RouteTables[i].Routes, inventory.Route{PrefixList: "pl-0partners", Target: "pcx-0partners"})
	}
	for i := range s.Interfaces {
		if s.Interfaces[i].PrivateIPs[0] == alb1 {
			s.Interfaces[i].IPv6 = append(s.Interfaces[i].IPv6, "2001:db8:1::25")
		}
	}
	for i := range s.Subnets {
		if s.Subnets[i].ID == "subnet-0pub1" {
			s.Subnets[i].CIDRs = append(s.Subnets[i].CIDRs, "2001:db8:1::/64")
		}
	}
	return s
}

// steps is what an evaluation decided, without the rule texts (which quote
// addresses).
type step struct {
	Layer, Check, Result string
	Reply                bool
}

func decided(r policy.Result, err error) (string, string, []step) {
	if err != nil {
		return "error", "", nil
	}
	var out []step
	for _, s := range r.Steps {
		out = append(out, step{s.Layer, s.Check, s.Result, s.Reply})
	}
	return r.Verdict, r.Layer, out
}

// TestClassesEvaluateAlike: an address and its class's first address get
// the same evaluation, step by step, for flows from and to every kind of
// place (the VPC's interfaces, subnets without an interface there, the
// internet), addresses picked at and around every bound and at random.
func TestClassesEvaluateAlike(t *testing.T) {
	s := classSnapshot()
	x := inventory.NewIndex(s)
	c := policy.NewClasses(x)
	rng := rand.New(rand.NewPCG(12, 12))
	var addrs []netip.Addr
	for _, v := range []string{"10.0.1.25", "10.0.1.26", "10.0.11.50", "10.0.11.7", "10.0.21.100", "10.0.0.0", "10.0.255.255",
		"198.51.100.127", "198.51.100.128", "203.0.113.63", "203.0.113.64", "203.0.113.127", "203.0.113.128", "198.18.7.9",
		"0.0.0.0", "255.255.255.255", "2001:db8:1::25", "2001:db8:1::26", "2001:db8:77::1", "2001:db8:78::1", "2001:db9::1", "::1",
		"172.31.5.9", "172.15.255.255", "172.32.0.0", "100.64.0.1", "100.63.255.255", "192.168.0.1", "11.0.0.1", "fd00::1", "fe00::1"} {
		addrs = append(addrs, netip.MustParseAddr(v))
	}
	for range 300 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if rng.IntN(2) == 0 {
			b[0], b[1] = 10, 0
		}
		addrs = append(addrs, netip.AddrFrom4(b))
	}
	ends := []string{ecs1, rds1, alb1, "10.0.11.9", "203.0.113.5", "2001:db8:1::25"}
	n := 0
	for _, a := range addrs {
		rep := c.Class(a)
		if c.Class(rep) != rep {
			t.Fatalf("Class(%s) = %s, whose class is %s", a, rep, c.Class(rep))
		}
		for _, e := range ends {
			other := netip.MustParseAddr(e)
			if other.Is4() != a.Is4() {
				continue
			}
			for _, port := range []int{22, 443, 5432, 8443} {
				for _, proto := range []int{6, 17, 1} {
					for _, sp := range []int{0, 1000, 50000} {
						for _, rev := range []bool{false, true} {
							q1 := policy.Query{Src: a, Dst: other, DstPort: port, SrcPort: sp, Protocol: proto}
							q2 := q1
							q2.Src = rep
							if rev {
								q1.Src, q1.Dst = other, a
								q2.Src, q2.Dst = other, rep
							}
							v1, l1, s1 := decided(policy.Quick(x, q1))
							v2, l2, s2 := decided(policy.Quick(x, q2))
							if v1 != v2 || l1 != l2 || !cmp.Equal(s1, s2) {
								t.Fatalf("%+v: %s %s; its class %s: %s %s; steps (-addr +class):\n%s", q1, v1, l1, rep, v2, l2, cmp.Diff(s1, s2))
							}
							if policy.GroupsAllow(x, q1) != policy.GroupsAllow(x, q2) {
								t.Fatalf("%+v: GroupsAllow differs for its class %s", q1, rep)
							}
							n++
						}
					}
				}
			}
		}
	}
	if n < 10_000 {
		t.Fatalf("only %d comparisons", n)
	}
	// The internet's scanners, outside every rule's prefix, are one class.
	if a, b := c.Class(netip.MustParseAddr("198.18.0.1")), c.Class(netip.MustParseAddr("198.18.200.77")); a != b {
		t.Errorf("scanners 198.18.0.1 and 198.18.200.77 in classes %s and %s", a, b)
	}
	// An interface's address is a class of its own.
	if got := c.Class(netip.MustParseAddr(alb1)); got.String() != alb1 {
		t.Errorf("Class(%s) = %s", alb1, got)
	}
}

// TestClassBounds4: an IPv4 address's class is the greatest of Bounds4 at
// or below it, over random addresses and the bounds themselves and their
// neighbours; the bounds ascend from 0 and are a copy.
func TestClassBounds4(t *testing.T) {
	c := policy.NewClasses(inventory.NewIndex(classSnapshot()))
	b := c.Bounds4()
	if len(b) < 10 || b[0] != 0 {
		t.Fatalf("bounds %v: want many, from 0", b)
	}
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("bounds %d and %d not ascending: %d, %d", i-1, i, b[i-1], b[i])
		}
	}
	addr := func(u uint32) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var probes []uint32
	for _, u := range b {
		probes = append(probes, u, u-1, u+1)
	}
	for range 20_000 {
		probes = append(probes, rng.Uint32())
	}
	for _, u := range probes {
		k := 0
		for i, v := range b { // the reference: a linear scan
			if v <= u {
				k = i
			}
		}
		if got, want := c.Class(addr(u)), addr(b[k]); got != want {
			t.Fatalf("%s: class %s, the greatest bound at or below it %s", addr(u), got, want)
		}
	}
	b[1]++
	if c.Bounds4()[1] == b[1] {
		t.Error("Bounds4 hands out the classes' own slice")
	}
}
