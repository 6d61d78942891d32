package collect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

func TestCheckpointRoundTrip(t *testing.T) {
	c := &checkpoint{Seq: 7, Done: 1_780_000_000, state: []byte("FQMS\x01\x00\x00"), held: []byte("held records"),
		Objects: []seen{{Key: "b/2", ETag: "e2", Slot: 3600}, {Key: "a/1", ETag: "e1", Slot: 0}}}
	data, err := c.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, c, cmp.AllowUnexported(checkpoint{}), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("(-got +want):\n%s", d)
	}
	if got.Objects[0].Key != "a/1" {
		t.Errorf("objects not sorted: %v", got.Objects)
	}
	// A version 1 checkpoint (no records held) from the previous release.
	v1, err := zstdBytes(append(append([]byte{byte(len(`{"version":1,"seq":3,"done":3600,"objects":null}`))},
		`{"version":1,"seq":3,"done":3600,"objects":null}`...), "STATE"...))
	if err != nil {
		t.Fatal(err)
	}
	if old, err := decodeCheckpoint(v1); err != nil || string(old.state) != "STATE" || len(old.held) != 0 || old.Done != 3600 {
		t.Errorf("version 1: %+v, %v", old, err)
	}
	huge, err := zstdBytes(append(append([]byte{byte(len(`{"version":2,"held_bytes":99}`))}, `{"version":2,"held_bytes":99}`...), "STATE"...))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("not zstd"), data[:len(data)/2], huge} {
		if _, err := decodeCheckpoint(bad); err == nil {
			t.Errorf("checkpoint %q accepted", bad)
		}
	}
}

// TestCheckpointSize: the checkpoint after a day of a high-cardinality
// network (3,000 internet peers an hour, each a key of the exfiltration
// detector in two hopping windows, kept for the 24 h retention) stays
// small enough to read and write every run.
func TestCheckpointSize(t *testing.T) {
	if testing.Short() {
		t.Skip("a day of records through the detectors")
	}
	mem := detect.NewMemoryState()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	clock := day
	eng, err := detect.New(detect.DefaultConfig(), mem, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	for h := range 24 {
		var text []byte
		for i := range 3000 {
			at := day.Unix() + int64(h)*3600 + int64(i)
			peer := fmt.Sprintf("%d.%d.%d.%d", 100+i%100, h, (i/100)%250, 1+i%250)
			e := synth.ECS[i%len(synth.ECS)]
			f := synth.Flow{Version: 5, Account: synth.Account, ENI: e.ENI, Src: e.IP, Dst: peer, SrcPort: 40000 + i%20000, DstPort: 443,
				Protocol: 6, Packets: 12, Bytes: 9000, Start: at, End: at + 20, Action: "ACCEPT", Status: "OK", VPC: "vpc-0flowq0seed0001",
				Subnet: e.Subnet, Type: "IPv4", PktSrc: e.IP, PktDst: peer, Direction: "egress"}
			text = append(synth.AppendLine(text, synth.DetectFormat, &f), '\n')
		}
		clock = day.Add(time.Duration(h+1) * time.Hour)
		r := parse.NewBytesReader(text, parse.Options{Format: synth.DetectFormat})
		recs, _ := r.ReadAll()
		r.Release()
		for i, rec := range recs {
			if _, err := eng.Process(context.Background(), fmt.Sprintf("h%d#%d", h, i), rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
	}
	state, err := mem.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := &checkpoint{Seq: 24, Done: clock.Unix(), state: state}
	data, err := c.encode()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d keys: state %d bytes, checkpoint %d bytes (zstd)", mem.Len(), len(state), len(data))
	if mem.Len() < 24*3000 {
		t.Fatalf("%d keys, want at least one per peer and hour", mem.Len())
	}
	if len(data) > 4<<20 {
		t.Errorf("checkpoint %d bytes for a day of 3,000 peers an hour, over 4 MiB", len(data))
	}
}

func zstdBytes(raw []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil), nil
}

// TestHeldRoundTrip: records held for the next run come back from the
// checkpoint with their slots, whatever their schemas (two formats).
func TestHeldRoundTrip(t *testing.T) {
	s := newSlots(3600)
	defer s.release()
	for _, fm := range []*parse.Format{synth.DetectFormat, parse.DefaultFormat()} {
		text, _ := synth.Scenario(3, fm, time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC), time.Hour, 500, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
		r := parse.NewBytesReader(text, parse.Options{Format: fm})
		recs, err := r.ReadAll()
		r.Release()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			s.split(r, -1, s.add)
			r.Release()
		}
	}
	if len(s.recs) < 2 {
		t.Fatalf("records in %d slots, want two hours", len(s.recs))
	}
	data, err := s.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeSlots(3600, data)
	if err != nil {
		t.Fatal(err)
	}
	defer back.release()
	if back.rows() != s.rows() || len(back.recs) != len(s.recs) {
		t.Fatalf("%d records in %d slots back, want %d in %d", back.rows(), len(back.recs), s.rows(), len(s.recs))
	}
	for sl, recs := range s.recs {
		var want, got int64
		for _, r := range recs {
			want += r.NumRows()
		}
		for _, r := range back.recs[sl] {
			got += r.NumRows()
		}
		if got != want {
			t.Errorf("slot %d: %d records back, want %d", sl, got, want)
		}
	}
	if _, err := decodeSlots(3600, data[:len(data)-3]); err == nil {
		t.Error("a cut held section accepted")
	}
}
