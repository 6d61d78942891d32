package inventory_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/flowq/flowq/internal/inventory"
)

// bigSnapshot is a network of n interfaces (tagged, two groups each) in
// n/50 subnets, with n/20 groups of ten rules.
func bigSnapshot(n int) *inventory.Snapshot {
	s := netAt(t0)
	s.Interfaces = nil
	for i := range n {
		s.Interfaces = append(s.Interfaces, inventory.Interface{
			ID: fmt.Sprintf("eni-%017x", i), Type: "interface", SubnetID: fmt.Sprintf("subnet-%017x", i/50), VPCID: "vpc-1",
			PrivateIPs: []string{fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}, SecurityGroups: []string{"sg-1", fmt.Sprintf("sg-%017x", i%(n/20))},
			Tags: map[string]string{"Name": fmt.Sprintf("task-%d", i), "team": "trading", "env": "prod"},
		})
	}
	for g := range n / 20 {
		sg := inventory.SecurityGroup{ID: fmt.Sprintf("sg-%017x", g), Name: fmt.Sprintf("group-%d", g), VPCID: "vpc-1"}
		for r := range 10 {
			sg.Ingress = append(sg.Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 8000 + r, ToPort: 8000 + r, CIDR: fmt.Sprintf("10.%d.0.0/16", r)})
		}
		s.SecurityGroups = append(s.SecurityGroups, sg)
	}
	return s
}

// BenchmarkDigest: the unchanged check of a sync of 10,000 interfaces
// (Digest), beside the reference Encode, which every sync did before it
// (and a sync that stores still does). Bytes are the snapshot's JSON.
func BenchmarkDigest(b *testing.B) {
	s := bigSnapshot(10_000)
	doc, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("digest", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := inventory.Digest(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference-encode", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := inventory.Encode(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
