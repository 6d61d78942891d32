package drift_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/drift"
)

// bigNetwork is a declaration of 500 groups of 20 rules and 50 ACLs of 20
// entries, and a snapshot of the same with one rule changed per group.
func bigNetwork() (*inventory.Declaration, *inventory.Snapshot) {
	d := &inventory.Declaration{Source: "bench"}
	s := &inventory.Snapshot{}
	for g := range 500 {
		dg := inventory.SecurityGroup{ID: fmt.Sprintf("sg-%017x", g), Name: fmt.Sprintf("Group%d", g)}
		for r := range 10 {
			dg.Ingress = append(dg.Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 1000 + r, ToPort: 1000 + r, CIDR: fmt.Sprintf("10.%d.%d.0/24", g%256, r)})
			dg.Egress = append(dg.Egress, inventory.SGRule{Protocol: "6", FromPort: 443, ToPort: 443, Group: fmt.Sprintf("sg-%017x", (g+r)%500)})
		}
		lg := dg
		lg.Ingress = append([]inventory.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}}, dg.Ingress[1:]...)
		d.SecurityGroups = append(d.SecurityGroups, dg)
		s.SecurityGroups = append(s.SecurityGroups, lg)
	}
	for a := range 50 {
		acl := inventory.NetworkACL{ID: fmt.Sprintf("acl-%017x", a)}
		for e := range 20 {
			acl.Entries = append(acl.Entries, inventory.ACLEntry{Number: 100 + 10*e, Egress: e%2 == 1, Protocol: "6", Allow: true, CIDR: "10.0.0.0/16", FromPort: 1024, ToPort: 65535})
		}
		d.NetworkACLs = append(d.NetworkACLs, acl)
		s.NetworkACLs = append(s.NetworkACLs, acl)
	}
	return d, s
}

// BenchmarkCompare: drift of 10,000 rules and 1,000 entries; bytes are the
// declaration's JSON. The reference is decoding that JSON (encoding/json),
// the least flowq inventory drift does before comparing.
func BenchmarkCompare(b *testing.B) {
	d, s := bigNetwork()
	doc, _ := json.Marshal(d)
	b.Run("compare", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			if r := drift.Compare(d, s); len(r.Findings) != 1000 {
				b.Fatalf("%d findings", len(r.Findings))
			}
		}
	})
	b.Run("reference-decode", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			var x inventory.Declaration
			if err := json.Unmarshal(doc, &x); err != nil {
				b.Fatal(err)
			}
		}
	})
}
