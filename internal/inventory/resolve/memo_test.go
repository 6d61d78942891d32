package resolve_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/detecttest"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// twoSnapshots holds two configurations: until noon the database's network
// ACL has lost its ephemeral egress rule (replies to the tasks dropped) and
// the tasks' group its PostgreSQL egress (ACCEPTed queries denied); from
// noon the private ACL has lost its inbound rules for the ALB and the
// ephemeral range.
type twoSnapshots struct{ x [2]*inventory.Index }

func newTwoSnapshots() twoSnapshots {
	s1 := inventory.DemoSnapshot(day)
	for i := range s1.NetworkACLs {
		if s1.NetworkACLs[i].ID == "acl-0database" {
			s1.NetworkACLs[i].Entries = slices.DeleteFunc(s1.NetworkACLs[i].Entries, func(e inventory.ACLEntry) bool { return e.Egress && e.Number == 100 })
		}
	}
	for i := range s1.SecurityGroups {
		if s1.SecurityGroups[i].ID == "sg-0ecs" {
			s1.SecurityGroups[i].Egress = slices.DeleteFunc(s1.SecurityGroups[i].Egress, func(r inventory.SGRule) bool { return r.FromPort == 5432 })
		}
	}
	s2 := inventory.DemoSnapshot(day.Add(12 * time.Hour))
	for i := range s2.NetworkACLs {
		if s2.NetworkACLs[i].ID == "acl-0private" {
			s2.NetworkACLs[i].Entries = slices.DeleteFunc(s2.NetworkACLs[i].Entries, func(e inventory.ACLEntry) bool { return !e.Egress && (e.Number == 100 || e.Number == 130) })
		}
	}
	return twoSnapshots{[2]*inventory.Index{inventory.NewIndex(s1), inventory.NewIndex(s2)}}
}

func (s twoSnapshots) AsOf(_ context.Context, t time.Time) (*inventory.Index, error) {
	if t.IsZero() || !t.Before(day.Add(12*time.Hour)) {
		return s.x[1], nil
	}
	return s.x[0], nil
}

func (s twoSnapshots) Span(t time.Time) (int64, int64) {
	noon := day.Add(12 * time.Hour).Unix()
	if t.Unix() >= noon {
		return noon, math.MaxInt64
	}
	return math.MinInt64, noon
}

// randomRecords writes n records in DetectFormat, in random time order over
// the day: flows between the demo network's interfaces, addresses of its
// subnets no interface holds, many internet peers and IPv6, on usual and
// random ports, with client ports below, at and above the server's, and
// either action.
func randomRecords(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	inside := []string{"10.0.1.25", "10.0.2.25", "10.0.1.10", "10.0.11.50", "10.0.11.51", "10.0.12.50", "10.0.12.51", "10.0.21.100", "10.0.22.100", "10.0.11.200", "10.0.11.9", "10.0.21.7"}
	addr := func() string {
		switch rng.IntN(6) {
		case 0:
			return fmt.Sprintf("198.18.%d.%d", rng.IntN(256), 1+rng.IntN(254))
		case 1:
			return []string{"203.0.113.5", "52.94.133.131", "1.1.1.1", "2001:db8::5", "2001:db8::77"}[rng.IntN(5)]
		default:
			return inside[rng.IntN(len(inside))]
		}
	}
	port := func() int {
		if rng.IntN(3) == 0 {
			return rng.IntN(65536)
		}
		return []int{22, 443, 5432, 8000, 53, 3389, 0, 1024, 49152}[rng.IntN(9)]
	}
	var b strings.Builder
	b.WriteString(synth.DetectFormat.Header() + "\n")
	for range n {
		src, dst := addr(), addr()
		dp := port()
		sp := []int{0, dp, max(dp-1, 0), dp + 1, 32768 + rng.IntN(28232), rng.IntN(65536)}[rng.IntN(6)] % 65536
		proto := []int{6, 6, 6, 17, 1}[rng.IntN(5)]
		action := []string{"ACCEPT", "REJECT"}[rng.IntN(2)]
		start := day.Unix() + rng.Int64N(86400)
		typ := "IPv4"
		if strings.Contains(src, ":") {
			typ = "IPv6"
		}
		fmt.Fprintf(&b, "5 123456789012 eni-0a1b2c3d4e5f6%04d %s %s %d %d %d 3 %d %d %d %s OK vpc-0flowq0seed0001 subnet-0priv1 2 %s %s %s - egress\n",
			rng.IntN(20), src, dst, sp, dp, proto, 100+rng.IntN(5000), start, start+30, action, typ, src, dst)
	}
	return b.String()
}

// finding is one key's expected alert.
type finding struct {
	Rule  string
	Count int64
	Bytes int64
}

// uncached judges every record of text by itself, from its raw fields, with
// the resolver's Judge (no memory, the record's own addresses and ports,
// and whether its interface-id is the interface that holds its source in
// the snapshot of its time, found by a walk of the snapshot's interfaces):
// the policy alerts expected per window, source and destination, with the
// first record's rule.
func uncached(t *testing.T, snaps twoSnapshots, text string, window time.Duration) map[string]*finding {
	t.Helper()
	r := resolve.New(snaps, resolve.Options{})
	fm := synth.DetectFormat
	col := func(name string) int { return fm.Index(name) }
	iSrc, iDst, iSp, iDp, iProto, iBytes, iStart, iAction, iStatus, iENI :=
		col("srcaddr"), col("dstaddr"), col("srcport"), col("dstport"), col("protocol"), col("bytes"), col("start"), col("action"), col("log-status"),
		col("interface-id")
	holds := func(at time.Time, eni string, src netip.Addr) bool {
		x, _ := snaps.AsOf(context.Background(), at)
		for _, f := range x.Snap.Interfaces {
			if f.ID == eni && slices.ContainsFunc(slices.Concat(f.PrivateIPs, f.IPv6), func(a string) bool { return a == src.String() }) {
				return true
			}
		}
		return false
	}
	num := func(s string) int {
		if s == "-" {
			return 0
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("field %q: %v", s, err)
		}
		return v
	}
	w := int64(window / time.Second)
	out := map[string]*finding{}
	for _, line := range strings.Split(text, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) == 0 || f[iStatus] != "OK" {
			continue
		}
		src, err1 := netip.ParseAddr(f[iSrc])
		dst, err2 := netip.ParseAddr(f[iDst])
		if err1 != nil || err2 != nil {
			continue
		}
		start := int64(num(f[iStart]))
		at := time.Unix(start, 0)
		got, bad := r.Judge(detect.PolicyFlow{Src: src.Unmap(), Dst: dst.Unmap(), SrcPort: num(f[iSp]), DstPort: num(f[iDp]), Protocol: num(f[iProto]),
			Accepted: f[iAction] == "ACCEPT", AtSource: f[iAction] == "ACCEPT" && holds(at, f[iENI], src.Unmap()), At: at})
		if !bad {
			continue
		}
		key := fmt.Sprintf("%d %s %s", start-((start%w)+w)%w, f[iSrc], f[iDst])
		e := out[key]
		if e == nil {
			e = &finding{Rule: got.Layer + ": " + got.Rule}
			out[key] = e
		}
		e.Count++
		e.Bytes += int64(num(f[iBytes]))
	}
	return out
}

// memoized runs the policy detector (its verdict memory) over text in
// batches of batchSize and returns its alerts as findings.
func memoized(t *testing.T, r *resolve.Resolver, text string, batchSize int) map[string]*finding {
	t.Helper()
	return memoizedAs(t, r, text, batchSize, nil)
}

// memoizedAs is memoized with each batch first passed through encode (nil:
// as parsed).
func memoizedAs(t *testing.T, r *resolve.Resolver, text string, batchSize int, encode func(arrow.RecordBatch) arrow.RecordBatch) map[string]*finding {
	t.Helper()
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	det, err := detect.NewPolicyDetector(r, detect.NewMemoryState(), func() time.Time { return day.Add(48 * time.Hour) }, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rd := parse.NewReader(strings.NewReader(text), parse.Options{Format: synth.DetectFormat, BatchSize: batchSize})
	defer rd.Release()
	out := map[string]*finding{}
	for k := 0; rd.Next(); k++ {
		rec := rd.RecordBatch()
		if encode != nil {
			rec = encode(rec)
			defer rec.Release()
		}
		as, err := det.Process(context.Background(), fmt.Sprint("b", k), rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			key := fmt.Sprintf("%d %s %s", a.WindowStart.Unix(), a.Src, a.Dst)
			if out[key] != nil {
				t.Fatalf("two alerts for %s", key)
			}
			out[key] = &finding{Rule: a.Rule, Count: a.Count, Bytes: a.Bytes}
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPolicyMemoAgreesWithUncached: the policy detector, which judges each
// flow class once per snapshot and remembers the verdict, raises exactly
// the alerts that judging every record by itself gives — same keys, rules,
// counts and bytes — over random flows (internet peers by the thousand,
// every port relation, both actions, IPv6, records out of time order across
// a snapshot change), over the demo day with rules changed to disagree
// with it, over that day with 15,000 distinct internet peers, and over it
// with the reply of every ACCEPTed record (a destination port of the
// client's own each); whether
// the strings are plain or dictionaries (the lake's). In one batch the counts are the totals; in small batches, where
// an alert is raised from the batch its key first occurs in, the keys and
// rules.
func TestPolicyMemoAgreesWithUncached(t *testing.T) {
	demo, _ := synth.Scenario(5, synth.DetectFormat, day, 24*time.Hour, 30_000, day.Add(14*time.Hour))
	peers, _ := synth.Scenario(6, synth.DetectFormat, day, 24*time.Hour, 15_000, day.Add(14*time.Hour))
	peers = append(peers, synth.InternetPeers(synth.DetectFormat, day, 15_000)...)
	for _, tc := range []struct {
		name string
		text string
	}{
		{"random flows", randomRecords(1, 30_000)},
		{"demo day", string(demo)},
		{"internet peers", string(peers)}, // the high-cardinality day of BenchmarkEnrichedDetection
		{"demo day with replies", string(synth.WithReplies(synth.DetectFormat, demo))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snaps := newTwoSnapshots()
			want := uncached(t, snaps, tc.text, detect.DefaultConfig().Window)
			if len(want) < 20 {
				t.Fatalf("only %d expected alerts: the rules barely disagree with the records", len(want))
			}
			got := memoized(t, resolve.New(snaps, resolve.Options{}), tc.text, 1<<20)
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("one batch: alerts (-memoized +uncached):\n%s", diff)
			}
			small := memoized(t, resolve.New(snaps, resolve.Options{}), tc.text, 997)
			for k, w := range want {
				if g := small[k]; g == nil || g.Rule != w.Rule {
					t.Errorf("batches of 997: %s: %+v, want rule %q", k, g, w.Rule)
				}
			}
			if len(small) != len(want) {
				t.Errorf("batches of 997: %d alerts, want %d", len(small), len(want))
			}
			// As the lake reads back: string columns as dictionaries.
			lake := memoizedAs(t, resolve.New(snaps, resolve.Options{}), tc.text, 1<<20, func(rec arrow.RecordBatch) arrow.RecordBatch {
				return detecttest.DictionaryColumns(t, memory.DefaultAllocator, rec)
			})
			if diff := cmp.Diff(lake, want); diff != "" {
				t.Errorf("dictionaries: alerts (-memoized +uncached):\n%s", diff)
			}
		})
	}
}

// TestPolicyWithoutInventory: before the first sync the policy detector
// judges nothing and raises nothing.
func TestPolicyWithoutInventory(t *testing.T) {
	if got := memoized(t, resolve.New(none{}, resolve.Options{}), randomRecords(3, 2000), 512); len(got) != 0 {
		t.Errorf("%d alerts without an inventory", len(got))
	}
}
