package detect

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// TestPolicyPeers: scanners (a new source address every record, one class
// of a few, towards a few servers and ports) and internet peers (a new
// destination every record) get the rules' answer from the peer cache,
// class edges included, with few judgements; and they do not evict the
// rows of the flows that repeat, which keep answering from the row cache.
func TestPolicyPeers(t *testing.T) {
	ip := func(s string) uint32 {
		b := netip.MustParseAddr(s).As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	bounds := []uint32{0, ip("10.0.0.0"), ip("10.0.1.0"), ip("10.0.1.25"), ip("10.0.1.26"), ip("10.0.2.0"), ip("11.0.0.0"), ip("198.18.0.0"), ip("198.20.0.0")}
	rules := &boundsRules{bounds: bounds}
	ref := &boundsRules{bounds: bounds}
	m := newPolicyMemo(rules)
	check := func(what, src, dst string, sp, dp, proto int, acc bool) {
		t.Helper()
		got := m.judge(src, dst, sp, dp, proto, acc)
		_, want, _ := ref.Judge(PolicyFlow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, Protocol: proto, Accepted: acc})
		if got != want {
			t.Fatalf("%s %s -> %s %d->%d/%d %v: memory says %v, rules %v", what, src, dst, sp, dp, proto, acc, got, want)
		}
	}
	type flow struct {
		src, dst string
		dp       int
	}
	var regular []flow
	for k := range 40 {
		regular = append(regular, flow{fmt.Sprintf("10.0.%d.%d", 1+k%2, 10+k), fmt.Sprintf("10.0.%d.%d", 2-k%2, 100+k), []int{443, 5432, 8080}[k%3]})
	}
	for _, f := range regular {
		check("regular", f.src, f.dst, 40000, f.dp, 6, true)
	}
	var present []flow // the regular flows the row cache holds (some may share a slot)
	for _, f := range regular {
		s1, s2, _ := textKey(f.src)
		d1, d2, _ := textKey(f.dst)
		key := flowMeta(len(f.src), len(f.dst), min(40000, f.dp), 6, true)
		if m.holds(s1, s2, d1, d2, key) {
			present = append(present, f)
		}
	}
	if len(present) < len(regular)/2 {
		t.Fatalf("%d of %d regular flows in the row cache", len(present), len(regular))
	}
	rng := rand.New(rand.NewPCG(7, 7))
	servers := []string{"10.0.1.25", "10.0.2.25", "10.0.1.9"}
	rules.calls = 0
	edges := []uint32{ip("198.18.0.0"), ip("198.18.0.1"), ip("198.19.255.255"), ip("198.20.0.0"), ip("198.17.255.255"), ip("11.0.0.0"), ip("10.255.255.255")}
	for i := range 30_000 {
		var u uint32
		if i%100 == 0 {
			u = edges[(i/100)%len(edges)]
		} else {
			u = ip("198.18.0.0") + uint32(rng.IntN(1<<17))
		}
		peer := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}).String()
		srv := servers[rng.IntN(len(servers))]
		switch i % 3 {
		case 0: // a scanner, its client port above or below the server's
			check("scanner", peer, srv, []int{1024 + rng.IntN(60000), rng.IntN(3000)}[rng.IntN(2)], []int{22, 445, 3389, 8080}[rng.IntN(4)], 6, false)
		case 1: // a task calling an internet peer
			check("peer", srv, peer, 32768+rng.IntN(28000), 443, 6, true)
		default:
			f := regular[rng.IntN(len(regular))]
			check("regular", f.src, f.dst, 40000, f.dp, 6, true)
		}
	}
	if rules.calls > 3000 {
		t.Errorf("%d judgements for 20,000 scanners and peers of a few classes", rules.calls)
	}
	for _, f := range present {
		s1, s2, _ := textKey(f.src)
		d1, d2, _ := textKey(f.dst)
		key := flowMeta(len(f.src), len(f.dst), min(40000, f.dp), 6, true)
		if !m.holds(s1, s2, d1, d2, key) {
			t.Errorf("%s -> %s:%d evicted from the row cache by scanners and peers", f.src, f.dst, f.dp)
		}
	}
}

// TestPolicyMemoTextLengths: texts of every length from 0 to 40, short
// addresses (1.1.1.1, ::1; some sharing their first bytes) and texts that
// are no address among them, get the rules' answer, judged then
// remembered, with the rules' IPv4 bounds and without, and with every
// address a class of its own.
func TestPolicyMemoTextLengths(t *testing.T) {
	bounds := []uint32{0, 1 << 24, 10 << 24, 10<<24 | 1<<8, 198<<24 | 18<<16}
	texts := []string{"", "1", "::", "::1", "1::", "1.1.", "OKOK", "1.1.1", "8.8.8.8", "1.1.1.1", "1.2.3.45", "10.0.1.25", "10.0.1.250",
		"2001:db8::5", "198.18.200.200", "255.255.255.255", "1.1.1.1.1.1.1.1", "::ffff:10.0.1.25", "2001:db8:0:1:2:3:4:5", "fe80::1%eth0"}
	for k := range 40 { // short texts sharing their first bytes
		texts = append(texts, fmt.Sprintf("1.1.%d.%d", k/8, k%8))
	}
	for n := range 41 {
		texts = append(texts, fmt.Sprintf("%0*d", n, 7)[:n])
	}
	for _, m := range []*policyMemo{newPolicyMemo(&boundsRules{bounds: bounds}), newPolicyMemo(&badBounds{boundsRules: &boundsRules{bounds: bounds}, bounds: bounds[1:]}), newPolicyMemo(&hashRules{})} {
		var ref PolicyRules = &boundsRules{bounds: bounds}
		if _, ok := m.rules.(*hashRules); ok {
			ref = &hashRules{} // every address a class of its own
		}
		for _, src := range texts {
			for _, dst := range texts {
				want := false
				s, err1 := netip.ParseAddr(src)
				d, err2 := netip.ParseAddr(dst)
				if err1 == nil && err2 == nil {
					_, want, _ = ref.Judge(PolicyFlow{Src: s.Unmap().WithZone(""), Dst: d.Unmap().WithZone(""), SrcPort: 40000, DstPort: 53, Protocol: 17, Accepted: true})
				}
				for try := range 2 {
					if got := m.judge(src, dst, 40000, 53, 17, true); got != want {
						t.Fatalf("bounds %v, try %d: %q -> %q: memory says %v, rules %v", m.bounds4 != nil, try, src, dst, got, want)
					}
				}
			}
		}
	}
}

// holds tells whether the row cache holds a row key.
func (m *policyMemo) holds(s1, s2, d1, d2, key uint64) bool {
	for _, r := range &m.rows[rowHash(s1, s2, d1, d2, key)] {
		if r.meta == key && r.s1 == s1 && r.s2 == s2 && r.d1 == d1 && r.d2 == d2 {
			return true
		}
	}
	return false
}

// TestPolicyRowSet: two flows of one set of the row cache both stay (the
// one that repeats comes first), and a flow seen once takes the second way
// only: the first stays.
func TestPolicyRowSet(t *testing.T) {
	rules := &hashRules{}
	m := newPolicyMemo(rules)
	key := func(src, dst string) (uint64, uint64, uint64, uint64, uint64) {
		s1, s2, _ := textKey(src)
		d1, d2, _ := textKey(dst)
		return s1, s2, d1, d2, flowMeta(len(src), len(dst), 443, 6, true)
	}
	set := func(src, dst string) uint64 { return rowHash(key(src, dst)) }
	// Three flows to one server that fall in one set.
	var flows []string
	for k := 0; len(flows) < 3; k++ {
		src := fmt.Sprintf("10.%d.%d.%d", k>>16, k>>8&0xff, k&0xff)
		if len(flows) == 0 || set(src, "10.0.1.25") == set(flows[0], "10.0.1.25") {
			flows = append(flows, src)
		}
	}
	a, b, c := flows[0], flows[1], flows[2]
	judge := func(src string) {
		t.Helper()
		got := m.judge(src, "10.0.1.25", 40000, 443, 6, true)
		_, want, _ := (&hashRules{}).Judge(PolicyFlow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("10.0.1.25"), SrcPort: 40000, DstPort: 443, Protocol: 6, Accepted: true})
		if got != want {
			t.Fatalf("%s: memory says %v, rules %v", src, got, want)
		}
	}
	held := func(srcs ...string) {
		t.Helper()
		for _, src := range srcs {
			if !m.holds(key(src, "10.0.1.25")) {
				t.Fatalf("%s not in the row cache", src)
			}
		}
	}
	judge(a)
	judge(b)
	held(a, b)
	judge(b) // b repeats: first way
	held(a, b)
	judge(a)
	judge(a)
	held(a, b)
	calls := rules.calls
	judge(c) // seen once: replaces the second way (b)
	held(a, c)
	judge(a)
	if rules.calls != calls+1 {
		t.Errorf("%d judgements, want 1 (c's)", rules.calls-calls)
	}
}

// countingRules flags every flow to port 22, for any client port, and
// counts the detector's two kinds of judgement: its verdicts' (no time) and
// the exact ones that name an alert's rule (the record's time).
type countingRules struct{ verdicts, exact int }

func (r *countingRules) Class(a netip.Addr) netip.Addr { return a }

func (r *countingRules) Judge(f PolicyFlow) (PolicyFinding, bool, PortBox) {
	if f.At.IsZero() {
		r.verdicts++
	} else {
		r.exact++
	}
	return PolicyFinding{Kind: PolicyAcceptedDenied, Layer: "security-group", Rule: "no rule allows tcp/22"}, f.DstPort == 22, PortBox{0, 65535, f.DstPort, f.DstPort}
}

type fixedJudge struct{ r PolicyRules }

func (j fixedJudge) Rules(int64) (PolicyRules, int64, int64, bool) {
	return j.r, math.MinInt64 / 2, math.MaxInt64 / 2, true
}

// TestPolicyJudgesFirstRecordOfAlert: the records of one alert, each from a
// client port of its own, are judged exactly once per batch (to name the
// rule), not once each; the alert still counts them all.
func TestPolicyJudgesFirstRecordOfAlert(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC).Unix()
	var b strings.Builder
	b.WriteString(synth.DetectFormat.Header() + "\n")
	for k := range 500 {
		fmt.Fprintf(&b, "5 123456789012 eni-0a1b2c3d4e5f60011 10.0.11.51 10.0.21.100 %d 22 6 3 100 %d %d ACCEPT OK vpc-1 subnet-1 2 IPv4 10.0.11.51 10.0.21.100 - egress\n",
			32768+k, at+int64(k), at+int64(k)+5)
	}
	rd := parse.NewBytesReader([]byte(b.String()), parse.Options{Format: synth.DetectFormat})
	defer rd.Release()
	recs, err := rd.ReadAll()
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d batches, %v", len(recs), err)
	}
	defer recs[0].Release()
	rules := &countingRules{}
	cfg := DefaultConfig()
	cfg.Retention = 0
	d, err := NewPolicyDetector(fixedJudge{rules}, NewMemoryState(), func() time.Time { return time.Unix(at, 0).Add(24 * time.Hour) }, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := d.Process(context.Background(), "b0", recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Count != 500 || alerts[0].Bytes != 50_000 || alerts[0].Rule != "security-group: no rule allows tcp/22" {
		t.Fatalf("alerts: %+v", alerts)
	}
	if rules.exact != 1 || rules.verdicts != 1 {
		t.Errorf("%d exact judgements and %d verdicts for 500 records of one alert, want 1 and 1", rules.exact, rules.verdicts)
	}
}
