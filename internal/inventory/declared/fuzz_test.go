package declared_test

import (
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/declared"
	"github.com/flowq/flowq/internal/inventory/drift"
)

// FuzzParse: any published value parses or fails without panicking; what
// parses is well formed (a known protocol, one peer per rule, ACL rule
// numbers in range), and a network whose live rules are exactly the
// declared ones has no drift.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{albValue, vpceValue, aclValue, albPart2, `{"version":1,"kind":"network-acl","id":"acl-1","entries":[]}`, `{}`, `[`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		d, err := declared.Parse([]declared.Param{{Name: "/flowq/f/declared/x", Value: value}, {Name: "/flowq/f/declared/y", Value: value}}, "fuzz", time.Time{})
		if err != nil {
			return
		}
		for _, g := range d.SecurityGroups {
			for _, r := range append(append([]inventory.SGRule{}, g.Ingress...), g.Egress...) {
				if _, ok := inventory.ProtocolNumber(r.Protocol); !ok || r.Protocol == "" {
					t.Fatalf("rule %+v: protocol %q", r, r.Protocol)
				}
				peers := 0
				for _, p := range []string{r.CIDR, r.Group, r.PrefixList} {
					if p != "" {
						peers++
					}
				}
				if peers != 1 {
					t.Fatalf("rule %+v: %d peers", r, peers)
				}
			}
		}
		for _, a := range d.NetworkACLs {
			for _, e := range a.Entries {
				if e.Number < 1 || e.Number > 32766 || e.CIDR == "" {
					t.Fatalf("entry %+v", e)
				}
			}
		}
		live := &inventory.Snapshot{SecurityGroups: d.SecurityGroups, NetworkACLs: d.NetworkACLs}
		if r := drift.Compare(d, live); r.Drifted() {
			t.Fatalf("a network exactly as declared drifts: %v", r.Findings)
		}
	})
}
