package policy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/policy"
)

// BenchmarkExplain answers one flowq explain from a stored snapshot of the
// demo network grown to 10,000 interfaces: decode the gzipped JSON, index
// it, evaluate. Beside it the evaluation alone on an indexed snapshot, and
// as the reference the same document decoded by encoding/json (the
// snapshot reader uses goccy/go-json).
//
//	go test ./internal/policy -run '^$' -bench Explain -benchtime 20x
func BenchmarkExplain(b *testing.B) {
	s := inventory.DemoSnapshot(time.Unix(0, 0))
	for i := range 10_000 {
		s.Interfaces = append(s.Interfaces, inventory.Interface{
			ID: fmt.Sprintf("eni-%017x", i), Type: "lambda", SubnetID: "subnet-0priv2", VPCID: s.VPCID,
			PrivateIPs: []string{fmt.Sprintf("10.0.12.%d", 1+i%250)}, SecurityGroups: []string{"sg-0lambda"}, SourceDestCheck: true,
		})
	}
	data, err := inventory.Encode(s)
	if err != nil {
		b.Fatal(err)
	}
	q := policy.Query{Src: netip.MustParseAddr("10.0.11.51"), Dst: netip.MustParseAddr("10.0.21.100"), DstPort: 22, Protocol: 6}
	b.Run("reference=encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			var snap inventory.Snapshot
			if err := json.NewDecoder(zr).Decode(&snap); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode+index+evaluate", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			snap, err := inventory.Decode("bench", data)
			if err != nil {
				b.Fatal(err)
			}
			res, err := policy.Evaluate(inventory.NewIndex(snap), q)
			if err != nil || res.Verdict != policy.Deny {
				b.Fatalf("%v %+v", err, res)
			}
		}
	})
	b.Run("evaluate", func(b *testing.B) {
		x := inventory.NewIndex(s)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := policy.Evaluate(x, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
