package detect

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// snapshotState builds a state with every kind of field set: counters,
// ports, a claim, a sent flag, an entry that never expires, batch tokens.
func snapshotState(t *testing.T) (*MemoryState, []Update) {
	t.Helper()
	ctx := context.Background()
	now := time.Unix(1_780_000_000, 0)
	s := NewMemoryState()
	ups := []Update{
		{Key: Key{Detector: Exfiltration, Window: 1_779_998_400, Src: "10.0.1.5", Dst: "203.0.113.7", Span: 7200},
			Delta: Delta{Bytes: 900_000, Packets: 700, Count: 3, Head: 400_000, First: 1_779_999_000, Last: 1_779_999_900}, Expires: 1_780_090_000},
		{Key: Key{Detector: PortScan, Window: 1_779_998_400, Src: "198.51.100.9", Dst: "10.0.1.5"},
			Delta: Delta{Count: 4, First: 1_779_999_000, Last: 1_779_999_100, Ports: []uint16{0, 22, 80, 443, 65535}}, Expires: 1_780_090_000},
		{Key: Key{Detector: Reject, Window: 1_779_998_400, Src: "2001:db8::1"}, Delta: Delta{Count: 9, First: -5, Last: 3}},
	}
	if _, err := s.Apply(ctx, "tok-a", now, ups); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, "tok-b", now, ups[1:2]); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Claim(ctx, ups[0].Key, "tok-a", now, time.Minute); !ok {
		t.Fatal("claim failed")
	}
	if ok, _ := s.Claim(ctx, ups[1].Key, "tok-b", now, 0); !ok {
		t.Fatal("claim failed")
	}
	if err := s.Ack(ctx, []Key{ups[1].Key}, now); err != nil {
		t.Fatal(err)
	}
	return s, ups
}

// dump returns every field of a MemoryState, for comparison.
func dump(s *MemoryState) (map[Key]Totals, map[Key]int64, map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tot, exp := map[Key]Totals{}, map[Key]int64{}
	for x := range uint32(s.slab.n) {
		if !s.slab.at(x).live {
			continue
		}
		k := s.texts.decode(&s.slab.at(x).key)
		var t Totals
		s.totals(x, &t, nil)
		if len(t.Ports) == 0 {
			t.Ports = nil
		}
		tot[k], exp[k] = t, s.slab.at(x).expires
	}
	b := map[string]int64{}
	for k, v := range s.batches {
		b[k] = v
	}
	return tot, exp, b
}

func TestSnapshotRoundTrip(t *testing.T) {
	s, ups := snapshotState(t)
	data, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := NewMemoryState()
	if err := r.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	gt, ge, gb := dump(r)
	wt, we, wb := dump(s)
	if d := cmp.Diff(gt, wt); d != "" {
		t.Errorf("totals (-got +want):\n%s", d)
	}
	if d := cmp.Diff(ge, we); d != "" {
		t.Errorf("expiries (-got +want):\n%s", d)
	}
	if d := cmp.Diff(gb, wb); d != "" {
		t.Errorf("batch tokens (-got +want):\n%s", d)
	}
	// Deterministic: the restored state encodes to the same bytes, and
	// encoding twice gives the same bytes (map order plays no part).
	again, _ := r.MarshalBinary()
	twice, _ := s.MarshalBinary()
	if !bytes.Equal(again, data) || !bytes.Equal(twice, data) {
		t.Error("the same state encoded to different bytes")
	}
	// Replay protection survives: a batch applied before the snapshot is
	// a replay after it; a new one counts.
	ctx := context.Background()
	now := time.Unix(1_780_000_030, 0) // within the claim's minute
	got, _ := r.Apply(ctx, "tok-a", now, ups[:1])
	if !got[0].Replayed || got[0].Bytes != 900_000 {
		t.Errorf("replayed batch after restore: %+v, want Replayed and 900000 bytes", got[0])
	}
	got, _ = r.Apply(ctx, "tok-c", now, ups[:1])
	if got[0].Replayed || got[0].Bytes != 1_800_000 {
		t.Errorf("new batch after restore: %+v, want 1800000 bytes", got[0])
	}
	// The claim and the sent flag survive.
	if ok, _ := r.Claim(ctx, ups[0].Key, "tok-other", now, time.Minute); ok {
		t.Error("a claim held until now+1m was taken by another batch after restore")
	}
	if ok, _ := r.Claim(ctx, ups[1].Key, "tok-b", now, 0); ok {
		t.Error("a sent alert was claimed again after restore")
	}
}

func TestSnapshotEmpty(t *testing.T) {
	data, err := NewMemoryState().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := snapshotState(t)
	if err := r.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("restoring an empty snapshot left %d keys", r.Len())
	}
}

// TestSnapshotCorrupt: every truncation and a flipped version fail with an
// error, never a panic, and leave the state as it was.
func TestSnapshotCorrupt(t *testing.T) {
	s, _ := snapshotState(t)
	data, _ := s.MarshalBinary()
	for n := range len(data) {
		r, _ := snapshotState(t)
		if err := r.UnmarshalBinary(data[:n]); err == nil {
			t.Fatalf("a snapshot cut to %d of %d bytes was accepted", n, len(data))
		}
		if r.Len() != 3 {
			t.Fatalf("a failed restore changed the state: %d keys", r.Len())
		}
	}
	bad := bytes.Clone(data)
	bad[len(snapshotMagic)] = 9
	if err := NewMemoryState().UnmarshalBinary(bad); err == nil {
		t.Error("version 9 accepted")
	}
	if err := NewMemoryState().UnmarshalBinary(append(bytes.Clone(data), 0)); err == nil {
		t.Error("trailing bytes accepted")
	}
}

// FuzzSnapshot: any bytes decode without a panic; what decodes encodes to
// bytes that decode to the same state, and encode the same again.
func FuzzSnapshot(f *testing.F) {
	s, _ := snapshotState(&testing.T{})
	data, _ := s.MarshalBinary()
	f.Add(data)
	empty, _ := NewMemoryState().MarshalBinary()
	f.Add(empty)
	f.Add([]byte("FQMS\x01\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := NewMemoryState()
		if m.UnmarshalBinary(b) != nil {
			return
		}
		once, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		r := NewMemoryState()
		if err := r.UnmarshalBinary(once); err != nil {
			t.Fatalf("a snapshot's own encoding does not decode: %v", err)
		}
		twice, _ := r.MarshalBinary()
		if !bytes.Equal(once, twice) {
			t.Fatal("encoding is not stable across a decode")
		}
	})
}
