package detect

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// oddKeys are keys the Engine never writes (texts that are not addresses
// in canonical form, other detectors), which MemoryState must hold as
// exactly as the Engine's own.
func oddKeys() []Update {
	return []Update{
		{Key: Key{Detector: "custom", Window: 7, Src: "010.0.0.1", Dst: "::FFFF:10.0.0.1"}, Delta: Delta{Count: 1, Ports: []uint16{9, 3}}, Expires: 1_780_090_000},
		{Key: Key{Detector: Policy, Window: 7, Src: "fe80::1%eth0", Dst: "::ffff:10.0.0.1", Span: 60}, Delta: Delta{Bytes: 5, First: 1, Last: 2}},
		{Key: Key{Detector: Exfiltration, Window: -3600, Src: "not an address", Dst: "2001:db8::1"}, Delta: Delta{Bytes: 5, Head: 2}, Expires: 1_780_090_000},
	}
}

// TestKeyTexts: every Key converts to its compact key and back exactly,
// distinct keys stay distinct, and texts no key uses any more are dropped.
func TestKeyTexts(t *testing.T) {
	texts := []string{"", "10.0.1.5", "0.0.0.0", "255.255.255.255", "010.0.1.5", "10.0.1.05", "1.2.3", "1.2.3.4.5",
		"2001:db8::1", "2001:DB8::1", "2001:0db8::1", "::ffff:10.0.1.5", "::FFFF:10.0.1.5", "::", "::1", "fe80::1%eth0",
		"exfiltration", "not an address", "a#b"}
	s := NewMemoryState()
	seen := map[memKey]Key{}
	for _, det := range []string{Exfiltration, Reject, PortScan, Policy, "", "other"} {
		for _, src := range texts {
			for _, dst := range texts {
				k := Key{Detector: det, Window: -7, Src: src, Dst: dst, Span: 3600}
				mk, _ := s.texts.encode(&k, true)
				if got := s.texts.decode(&mk); got != k {
					t.Fatalf("key %+v came back as %+v", k, got)
				}
				if prev, ok := seen[mk]; ok {
					t.Fatalf("keys %+v and %+v share a compact key", prev, k)
				}
				seen[mk] = k
			}
		}
	}

	ctx := context.Background()
	now := time.Unix(1_780_000_000, 0)
	s = NewMemoryState()
	ups := oddKeys()
	if _, err := s.Apply(ctx, "tok", now, ups); err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if ok, _ := s.Claim(ctx, u.Key, "tok", now, time.Minute); !ok {
			t.Errorf("claim %+v: not found", u.Key)
		}
	}
	if err := s.Ack(ctx, []Key{ups[0].Key}, now); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Apply(ctx, "tok2", now, ups)
	if !got[0].Sent || got[0].Count != 2 || !cmp.Equal(got[0].Ports, []uint16{3, 9}) || got[1].ClaimedBy != "tok" {
		t.Errorf("totals after claim and ack: %+v", got)
	}
	// Past the expiries: two keys go, with the texts only they used.
	s.Apply(ctx, "tok3", time.Unix(1_780_090_001, 0), nil)
	if s.Len() != 1 {
		t.Fatalf("%d keys after expiry, want 1", s.Len())
	}
	want := map[string]uint32{Exfiltration: 0, Reject: 1, PortScan: 2, Policy: 3, "fe80::1%eth0": 7}
	if d := cmp.Diff(s.texts.ids, want); d != "" {
		t.Errorf("texts after expiry (-got +want):\n%s", d)
	}
}

// TestSnapshotCompatible: testdata/snapshot-v1.bin was written by the
// MemoryState before compact keys (the collector's checkpoints of the
// previous release): it decodes, encodes to the same bytes, and the same
// operations on today's MemoryState encode to them too.
func TestSnapshotCompatible(t *testing.T) {
	old, err := os.ReadFile("testdata/snapshot-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	r := NewMemoryState()
	if err := r.UnmarshalBinary(old); err != nil {
		t.Fatal(err)
	}
	again, _ := r.MarshalBinary()
	if !bytes.Equal(again, old) {
		t.Error("the previous release's snapshot re-encodes to other bytes")
	}
	s, _ := snapshotState(t)
	if _, err := s.Apply(context.Background(), "tok-odd", time.Unix(1_780_000_000, 0), oddKeys()); err != nil {
		t.Fatal(err)
	}
	now, _ := s.MarshalBinary()
	if !bytes.Equal(now, old) {
		t.Errorf("the same state encodes to other bytes than the previous release's:\n got %x\nwant %x", now, old)
	}
}
