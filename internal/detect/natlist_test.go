package detect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// TestTailTable: the table of listed interface IDs answers as a search of
// the list, for lists of 0 to 200 IDs, IDs that share their last 8 bytes
// with a listed one (and are not listed), listed IDs and short texts.
func TestTailTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	id := func() string { return fmt.Sprintf("eni-%017x", rng.Uint64()>>4) }
	for _, n := range []int{0, 1, 2, 4, 30, 200} {
		var list []string
		for range n {
			list = append(list, id())
		}
		tab := newTailTable(list)
		var probes []string
		for _, e := range list {
			probes = append(probes, e, "eni-f"+e[5:], "x"+e[1:], e[len(e)-8:]) // listed; same tail, other IDs
		}
		for range 1000 {
			probes = append(probes, id())
		}
		probes = append(probes, "", "-", "eni-1", "nat-0123456789abcdef0")
		for _, p := range probes {
			if got, want := tab.has(tail8(p), []byte(p)), slices.Contains(list, p); got != want {
				t.Fatalf("%d listed: %q: table says %v, the list %v", n, p, got, want)
			}
		}
	}
}

// BenchmarkNATList: finding the records of listed NAT interfaces in a
// batch's interface IDs (markListed) with 1, 4 and 30 interfaces listed,
// beside the reference, a search of the list for each record.
//
//	go test ./internal/detect -run '^$' -bench NATList -cpu 1 -count 6 | tee out; benchstat out
func BenchmarkNATList(b *testing.B) {
	day := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	demo, _ := synth.Scenario(11, synth.DetectFormat, day, 24*time.Hour, 200_000, day.Add(14*time.Hour))
	rd := parse.NewReader(bytes.NewReader(demo), parse.Options{Format: synth.DetectFormat})
	batches, err := rd.ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	var ids []string // the batches' interface IDs, as markListed reads them
	for _, r := range batches {
		c, _ := bindColumns(r, &scratch{})
		for i := range int(r.NumRows()) {
			ids = append(ids, c.eni.Value(i))
		}
		r.Release()
	}
	tail := func(v string) uint64 { return binary.BigEndian.Uint64([]byte(v[len(v)-8:])) } // IDs of 8 bytes or more
	for _, n := range []int{1, 4, 30} {
		var list []string
		for k := range n {
			list = append(list, fmt.Sprintf("eni-0ffff%012d", k))
		}
		var marked int
		b.Run(fmt.Sprintf("listed=%d/table", n), func(b *testing.B) {
			b.SetBytes(int64(len(demo)))
			for b.Loop() {
				tab := newTailTable(list)
				for _, v := range ids {
					if tab.has(tail(v), []byte(v)) {
						marked++
					}
				}
			}
		})
		b.Run(fmt.Sprintf("listed=%d/reference=search", n), func(b *testing.B) {
			b.SetBytes(int64(len(demo)))
			for b.Loop() {
				tails := make([]uint64, len(list))
				for k, e := range list {
					tails[k] = tail8(e)
				}
				for _, v := range ids {
					t := tail(v)
					for k, lt := range tails {
						if lt == t && v == list[k] {
							marked++
							break
						}
					}
				}
			}
		})
		if marked != 0 {
			b.Fatalf("%d records of unlisted interfaces marked", marked)
		}
	}
}
