package detect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// hashRules is a PolicyRules whose verdicts are an arbitrary function of
// the flow: every address is a class of its own except 198.18.0.0/15 (one
// class); as resolve does, client ports from the server's up share an
// answer (a request), and so do destination ports from 1024 up above the
// source port (a reply to a client's ephemeral port); other ports are
// judged one by one.
type hashRules struct{ calls int }

func (r *hashRules) Class(a netip.Addr) netip.Addr {
	if netip.MustParsePrefix("198.18.0.0/15").Contains(a) {
		return netip.MustParseAddr("198.18.0.0")
	}
	return a
}

func (r *hashRules) Judge(f PolicyFlow) (PolicyFinding, bool, PortBox) {
	r.calls++
	sp, dp := f.SrcPort, f.DstPort
	box := PortBox{sp, sp, dp, dp}
	h := fmt.Sprint(r.Class(f.Src), r.Class(f.Dst), f.Protocol, f.Accepted)
	switch {
	case sp >= dp:
		box.SrcLo, box.SrcHi = dp, 65535
		h += fmt.Sprint(" request ", dp)
	case dp >= 1024:
		box.DstLo, box.DstHi = max(1024, sp+1), 65535
		h += fmt.Sprint(" reply ", sp)
	default:
		h += fmt.Sprint(" ", sp, dp)
	}
	var x uint32
	for i := range len(h) {
		x = x*31 + uint32(h[i])
	}
	return PolicyFinding{}, x%7 == 0, box
}

// TestPolicyMemoBounded: over 300,000 flows of high cardinality (random
// internal addresses, ports and protocols; scanners from a /15), the memory
// answers exactly as the rules do, stays within its bounds (verdicts,
// classes, texts) and judges each class tuple far fewer times than there
// are records where flows repeat.
func TestPolicyMemoBounded(t *testing.T) {
	rules := &hashRules{}
	m := newPolicyMemo(rules)
	ref := &hashRules{}
	rng := rand.New(rand.NewPCG(8, 8))
	addr := func() string {
		if rng.IntN(4) == 0 {
			return fmt.Sprintf("198.%d.%d.%d", 18+rng.IntN(2), rng.IntN(256), rng.IntN(256))
		}
		if rng.IntN(20) == 0 {
			return fmt.Sprintf("2001:db8:%x::%x", rng.IntN(1<<16), rng.IntN(1<<16))
		}
		return fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(256), rng.IntN(256))
	}
	const n = 300_000
	for i := range n {
		if i%16384 == 0 {
			m.trim() // a batch
		}
		src, dst := addr(), addr()
		sp, dp, proto, acc := rng.IntN(65536), []int{22, 443, 5432, rng.IntN(65536)}[rng.IntN(4)], []int{6, 17, 1}[rng.IntN(3)], rng.IntN(2) == 0
		got := m.judge(src, dst, sp, dp, proto, acc)
		_, want, _ := ref.Judge(PolicyFlow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, Protocol: proto, Accepted: acc})
		if got != want {
			t.Fatalf("flow %d %s -> %s %d->%d/%d %v: memory says %v, rules %v", i, src, dst, sp, dp, proto, acc, got, want)
		}
		if len(m.boxes) > memoVerdicts || len(m.reps) > memoClasses+2*16384 || len(m.long) > memoClasses+2*16384 {
			t.Fatalf("flow %d: %d verdicts, %d classes, %d long texts: over the bounds", i, len(m.boxes), len(m.reps), len(m.long))
		}
	}

	// Flows that repeat are judged once per class tuple.
	rules.calls = 0
	m = newPolicyMemo(rules)
	for i := range n {
		src := []string{"10.0.11.50", "10.0.11.51", fmt.Sprintf("198.18.%d.%d", rng.IntN(256), rng.IntN(256))}[i%3]
		m.judge(src, "10.0.1.25", 32768+rng.IntN(28232), 443, 6, true)
	}
	if rules.calls > 1000 {
		t.Errorf("%d judgements for %d records of 3 classes", rules.calls, n)
	}
}

// boundsRules is hashRules whose IPv4 classes are ranges cut at bounds
// (ClassBounds4), told alike by Class: what resolve's rules look like.
type boundsRules struct {
	hashRules
	bounds []uint32
}

func (r *boundsRules) Class(a netip.Addr) netip.Addr {
	if !a.Is4() {
		return a
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	k := 0
	for i, u := range r.bounds {
		if u <= v {
			k = i
		}
	}
	u := r.bounds[k]
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

func (r *boundsRules) Judge(f PolicyFlow) (PolicyFinding, bool, PortBox) {
	// hashRules' verdict over this type's classes.
	h := hashRules{}
	g := f
	g.Src, g.Dst = r.Class(f.Src), r.Class(f.Dst)
	out, bad, box := h.Judge(g)
	r.calls++
	return out, bad, box
}

func (r *boundsRules) ClassBounds4() []uint32 { return r.bounds }

// TestPolicyMemoClassBounds: with the rules' IPv4 bounds, the memory
// numbers an address's class by its own search, and answers as the rules
// do (which class it is, hence the verdict) over random addresses hugging
// the bounds; malformed bounds (not from 0, not ascending) are ignored for
// Class.
func TestPolicyMemoClassBounds(t *testing.T) {
	ip := func(s string) uint32 {
		b := netip.MustParseAddr(s).As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	good := []uint32{0, ip("10.0.0.0"), ip("10.0.1.0"), ip("10.0.1.25"), ip("10.0.1.26"), ip("10.0.2.0"), ip("198.18.0.0"), ip("198.20.0.0"), ip("255.255.255.255")}
	for _, tc := range []struct {
		name   string
		bounds []uint32
		used   bool
	}{
		{"bounds", good, true},
		{"one class", []uint32{0}, true},
		{"not from 0", good[1:], false},
		{"not ascending", []uint32{0, ip("10.0.2.0"), ip("10.0.1.0")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Used bounds are the classes; unused ones leave Class (over
			// the good bounds) to tell.
			ref := &boundsRules{bounds: good}
			var m *policyMemo
			if tc.used {
				ref.bounds = tc.bounds
				m = newPolicyMemo(&boundsRules{bounds: tc.bounds})
			} else {
				m = newPolicyMemo(&badBounds{boundsRules: &boundsRules{bounds: good}, bounds: tc.bounds})
			}
			if (m.bounds4 != nil) != tc.used {
				t.Fatalf("bounds used: %v, want %v", m.bounds4 != nil, tc.used)
			}
			rng := rand.New(rand.NewPCG(3, 3))
			addr := func() string {
				if rng.IntN(10) == 0 {
					return "2001:db8::" + fmt.Sprint(rng.IntN(9))
				}
				u := good[rng.IntN(len(good))] + uint32(rng.IntN(3)) - 1 // at, just below and above a bound
				return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}).String()
			}
			for i := range 50_000 {
				src, dst := addr(), addr()
				sp, dp, acc := rng.IntN(65536), []int{22, 443, 5432}[rng.IntN(3)], rng.IntN(2) == 0
				got := m.judge(src, dst, sp, dp, 6, acc)
				_, want, _ := ref.Judge(PolicyFlow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, Protocol: 6, Accepted: acc})
				if got != want {
					t.Fatalf("flow %d %s -> %s %d->%d %v: memory says %v, rules %v", i, src, dst, sp, dp, acc, got, want)
				}
				if a := netip.MustParseAddr(src); a.Is4() {
					if c := m.reps[m.class(src)]; c != ref.Class(a) {
						t.Fatalf("%s: class %s, want %s", src, c, ref.Class(a))
					}
				}
			}
		})
	}
}

// badBounds hands out malformed bounds.
type badBounds struct {
	*boundsRules
	bounds []uint32
}

func (r *badBounds) ClassBounds4() []uint32 { return r.bounds }

// TestPolicyMemoPortsOutOfRange: ports beyond 16 bits and protocols beyond
// 8 (a lake's column may hold anything) are judged as they are, not as
// those of their low bits, remembered or not.
func TestPolicyMemoPortsOutOfRange(t *testing.T) {
	rules := &hashRules{}
	m := newPolicyMemo(rules)
	ref := &hashRules{}
	for _, f := range []struct{ sp, dp int }{
		{443, 4464}, {443, 4464 + 65536}, {4464, 443}, {4464 + 65536, 443}, {-1, 443}, {65535, 443}, {443, -65536 + 443},
		{40000, 22}, {40000, 22 + 65536}, {40000 + 65536, 22}, {40000, 22},
	} {
		for _, acc := range []bool{true, false} {
			for _, proto := range []int{6, 6 + 256, 17, 17 - 256} {
				for range 2 { // the second time from the memory
					got := m.judge("10.0.1.25", "10.0.2.25", f.sp, f.dp, proto, acc)
					_, want, _ := ref.Judge(PolicyFlow{Src: netip.MustParseAddr("10.0.1.25"), Dst: netip.MustParseAddr("10.0.2.25"), SrcPort: f.sp, DstPort: f.dp, Protocol: proto, Accepted: acc})
					if got != want {
						t.Errorf("ports %d -> %d, protocol %d, %v: memory says %v, rules %v", f.sp, f.dp, proto, acc, got, want)
					}
				}
			}
		}
	}
}

// FuzzPolicyMemo: any address texts, ports (beyond 16 bits too),
// protocol and action get the rules' own answer from the memory, first
// judged and then remembered, while the memory holds earlier flows (one
// memory over the whole run), with the rules' IPv4 bounds and without.
func FuzzPolicyMemo(f *testing.F) {
	f.Add("10.0.1.25", "198.18.0.7", 443, 40000, 6, true)
	f.Add("2001:db8::5", "10.0.1.25", 55615, 443, 6, false)
	f.Add("::ffff:10.0.1.25", "10.0.2.25", -1, 65536+443, 17, true)
	f.Add("1.2.3.4", "010.0.1.25", 0, 0, 1, false)
	f.Add("fe80::1%eth0", "203.0.113.255", 65535, 65535, 6, true)
	bounds := []uint32{0, 10 << 24, 10<<24 | 1<<8, 10<<24 | 1<<8 | 25, 198<<24 | 18<<16, 198<<24 | 20<<16}
	withBounds, without := &boundsRules{bounds: bounds}, &boundsRules{bounds: bounds}
	memos := []*policyMemo{newPolicyMemo(withBounds), newPolicyMemo(&badBounds{boundsRules: without, bounds: bounds[1:]})}
	ref := &boundsRules{bounds: bounds}
	f.Fuzz(func(t *testing.T, src, dst string, sp, dp, proto int, acc bool) {
		want := false
		s, err1 := netip.ParseAddr(src)
		d, err2 := netip.ParseAddr(dst)
		if err1 == nil && err2 == nil {
			_, want, _ = ref.Judge(PolicyFlow{Src: s.Unmap().WithZone(""), Dst: d.Unmap().WithZone(""), SrcPort: sp, DstPort: dp, Protocol: proto, Accepted: acc})
		}
		for k, m := range memos {
			m.trim()
			for try := range 2 {
				if got := m.judge(src, dst, sp, dp, proto, acc); got != want {
					t.Fatalf("memory %d, try %d: %q -> %q %d->%d/%d %v: %v, rules %v", k, try, src, dst, sp, dp, proto, acc, got, want)
				}
			}
		}
	})
}

// TestPolicyVerdictWalk: a key's boxes are looked at the last used first,
// and at most memoWalk of them: a class pair whose verdicts each hold for
// one pair of ports (1,000 client ports below a server's port under 1024,
// each judged alone) costs the oldest a judgement again, not a walk of
// every box; the answers stay the rules'.
func TestPolicyVerdictWalk(t *testing.T) {
	rules := &hashRules{}
	m := newPolicyMemo(rules)
	src, dst := m.class("10.0.1.5"), m.class("10.0.1.6")
	ref := &hashRules{}
	ask := func(sp int) {
		t.Helper()
		got, _ := m.verdict(src, dst, sp, 1000, 6, false, false)
		_, want, _ := ref.Judge(PolicyFlow{Src: netip.MustParseAddr("10.0.1.5"), Dst: netip.MustParseAddr("10.0.1.6"), SrcPort: sp, DstPort: 1000, Protocol: 6})
		if got != want {
			t.Fatalf("port %d: memory says %v, rules %v", sp, got, want)
		}
	}
	for sp := range 1000 {
		ask(sp)
	}
	if rules.calls != 1000 {
		t.Fatalf("%d judgements for 1,000 ports", rules.calls)
	}
	ask(999) // the last: first in the walk
	ask(999 - memoWalk + 1)
	if rules.calls != 1000 {
		t.Errorf("%d judgements: the last %d boxes were not found", rules.calls, memoWalk)
	}
	ask(0) // beyond the walk: judged again, then first
	ask(0)
	if rules.calls != 1001 {
		t.Errorf("%d judgements, want 1001: the oldest box judged again once", rules.calls)
	}
}
