package detect_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/detecttest"
	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// byKey hides a MemoryState behind the State interface: the Engine then
// applies updates by Key, with their text, as it does with any other State
// (DynamoDB, the collector's).
type byKey struct{ detect.State }

// TestMemoryStateByKey runs the State suite on MemoryState through Keys
// (TestMemoryState runs it through the Engine's compact keys).
func TestMemoryStateByKey(t *testing.T) {
	detecttest.Run(t, func(*testing.T) detect.State { return byKey{detect.NewMemoryState()} })
}

// TestCompactKeysAgree: an Engine applying by compact key and one applying
// by Key hand out the same alerts batch after batch, and leave states that
// encode to the same bytes: over a day of the reference network's traffic
// with its incidents, plus IPv6 hosts written in every form (upper case,
// IPv4-mapped, IPv4 written as mapped IPv6), replayed and then re-sent as
// new batches.
func TestCompactKeysAgree(t *testing.T) {
	day := time.Unix(detecttest.Base, 0).UTC()
	text, _ := synth.Scenario(5, synth.DetectFormat, day, 24*time.Hour, 40_000, day.Add(9*time.Hour))
	text = append(text, detecttest.Text(synth.DetectFormat, ipv6Records())...)
	cfg := detect.DefaultConfig()
	cfg.Watch = append(detectconfig.DefaultWatch(), netip.MustParsePrefix("2001:db8:10::/48"))
	cfg.ExfilBudgets = []detectconfig.ExfilRule{{Bytes: 5_000_000, Window: 6 * time.Hour}}
	now := day.Add(26 * time.Hour) // the first hours are late: both must agree on that too
	mk := func(st detect.State) *detect.Engine {
		e, err := detect.New(cfg, st, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	compact, plain := detect.NewMemoryState(), detect.NewMemoryState()
	a, b := mk(compact), mk(byKey{plain})
	rd := parse.NewBytesReader(text, parse.Options{Format: synth.DetectFormat, BatchSize: 3000})
	recs, err := rd.ReadAll()
	rd.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	ctx := context.Background()
	alerts := 0
	for pass, prefix := range []string{"b", "b", "again"} { // the second pass is a replay
		for i, rec := range recs {
			id := fmt.Sprintf("%s%d", prefix, i)
			ga, err := a.Process(ctx, id, rec)
			if err != nil {
				t.Fatal(err)
			}
			wa, err := b.Process(ctx, id, rec)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(ga, wa); d != "" {
				t.Fatalf("pass %d batch %d alerts (-compact +by key):\n%s", pass, i, d)
			}
			alerts += len(ga)
			if err := a.Ack(ctx, ga[:len(ga)/2]); err != nil {
				t.Fatal(err)
			}
			if err := b.Ack(ctx, wa[:len(wa)/2]); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Hour)
	}
	if alerts < 8 {
		t.Errorf("%d alerts: the input should raise every detector's, IPv6 ones too", alerts)
	}
	if d := cmp.Diff(a.Summary(), b.Summary()); d != "" {
		t.Errorf("summaries (-compact +by key):\n%s", d)
	}
	ga, _ := compact.MarshalBinary()
	wa, _ := plain.MarshalBinary()
	if !bytes.Equal(ga, wa) {
		t.Errorf("the states differ: %d keys applied by compact key, %d by Key", compact.Len(), plain.Len())
	}
}

// ipv6Records are an exfiltration, rejects and a port scan between IPv6
// hosts, each address written in several forms, plus IPv4 hosts written as
// IPv4-mapped IPv6.
func ipv6Records() []detecttest.Rec {
	var out []detecttest.Rec
	at := int64(20 * 3600) // within the day, not late
	for i, src := range []string{"2001:db8:10::5", "2001:DB8:10::5", "2001:db8:10:0::5"} {
		out = append(out, detecttest.Rec{Src: src, Dst: "2001:db8:ff::7", Bytes: 600_000, At: at + int64(i), Dir: "egress"},
			detecttest.Rec{Src: "::ffff:10.0.11.50", Dst: "::FFFF:203.0.113.99", Bytes: 500_000, At: at + int64(i), Dir: "egress"})
	}
	for i := range 30 {
		out = append(out, detecttest.Rec{Src: "2001:db8:10::9", Dst: "2001:db8:10::a", DstPort: 1 + i, Bytes: 60, At: at + int64(i),
			Action: parse.ActionReject, Dir: "egress"})
	}
	return out
}

// TestProcessAllocs: a warm Engine on a MemoryState allocates a bounded
// number of times per batch however many new keys the batch brings (here
// 2,000 internet peers: 6,000 keys, two exfiltration windows and a port
// scan pair each), not once or more per key (16,054 before compact keys).
func TestProcessAllocs(t *testing.T) {
	const peers = 2000
	batches := map[int]arrow.RecordBatch{}
	batch := func(k int) arrow.RecordBatch {
		if r, ok := batches[k]; ok {
			return r
		}
		recs := make([]detecttest.Rec, peers)
		for i := range recs {
			n := k*peers + i
			recs[i] = detecttest.Rec{Src: "10.0.11.50", Dst: fmt.Sprintf("%d.%d.%d.%d", 100+n>>16&63, n>>8&255, n&255, 7),
				Bytes: 9000, At: int64(k*60 + i%60), Dir: "egress"}
		}
		rd := parse.NewBytesReader(detecttest.Text(detecttest.Format, recs), parse.Options{Format: detecttest.Format, BatchSize: peers})
		defer rd.Release()
		if !rd.Next() {
			t.Fatal(rd.Err())
		}
		r := rd.RecordBatch()
		r.Retain()
		batches[k] = r
		return r
	}
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	now := time.Unix(detecttest.Base+3600, 0)
	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := 0
	process := func() {
		if _, err := eng.Process(ctx, fmt.Sprint("b", k), batch(k)); err != nil {
			t.Fatal(err)
		}
		k++
	}
	for range 3 { // warm: the engine's buffers reach the batch's size
		process()
	}
	for range 8 {
		batch(k + len(batches) - 3) // parse outside the count
	}
	allocs := testing.AllocsPerRun(5, process)
	t.Logf("%.0f allocations per batch", allocs)
	if allocs > peers/10 {
		t.Errorf("%.0f allocations per batch of %d new peers (%d keys), want a bounded few", allocs, peers, 3*peers)
	}
	if s := eng.Summary(); s.Keys < int64(k*2*peers) {
		t.Errorf("summary %+v: want at least %d keys", s, k*2*peers)
	}
}
