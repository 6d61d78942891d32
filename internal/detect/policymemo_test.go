package detect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// hashRules is a PolicyRules whose verdicts are an arbitrary function of
// the flow: every address is a class of its own except 198.18.0.0/15 (one
// class); client ports from the server's up share an answer, lower ones
// (the record may be a reply) are judged one by one, as resolve does.
type hashRules struct{ calls int }

func (r *hashRules) Class(a netip.Addr) netip.Addr {
	if netip.MustParsePrefix("198.18.0.0/15").Contains(a) {
		return netip.MustParseAddr("198.18.0.0")
	}
	return a
}

func (r *hashRules) Judge(f PolicyFlow) (PolicyFinding, bool, int, int) {
	r.calls++
	lo, hi := f.SrcPort, f.SrcPort
	if f.SrcPort >= f.DstPort {
		lo, hi = f.DstPort, 65535
	}
	h := fmt.Sprint(r.Class(f.Src), r.Class(f.Dst), f.DstPort, f.Protocol, f.Accepted, lo)
	var x uint32
	for i := range len(h) {
		x = x*31 + uint32(h[i])
	}
	return PolicyFinding{}, x%7 == 0, lo, hi
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
		_, want, _, _ := ref.Judge(PolicyFlow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, Protocol: proto, Accepted: acc})
		if got != want {
			t.Fatalf("flow %d %s -> %s %d->%d/%d %v: memory says %v, rules %v", i, src, dst, sp, dp, proto, acc, got, want)
		}
		if m.n > memoVerdicts || len(m.reps) > memoClasses+2*16384 || len(m.long) > memoClasses+2*16384 {
			t.Fatalf("flow %d: %d verdicts, %d classes, %d long texts: over the bounds", i, m.n, len(m.reps), len(m.long))
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
