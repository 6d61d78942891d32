package drift_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/drift"
)

// respell writes the same rule the other way a source may spell it: a
// protocol name as its number, a CIDR with host bits, a group with its
// account, every port of tcp as no port, a changed description.
func respell(r inventory.SGRule, rnd *rand.Rand) inventory.SGRule {
	if rnd.IntN(2) == 0 {
		switch r.Protocol {
		case "tcp":
			r.Protocol = "6"
		case "udp":
			r.Protocol = "17"
		case "-1":
			r.Protocol = "all"
		}
	}
	if r.CIDR == "10.1.0.0/16" && rnd.IntN(2) == 0 {
		r.CIDR = "10.1.2.3/16"
	}
	if r.Group != "" && rnd.IntN(2) == 0 {
		r.Group = "123456789012/" + r.Group
	}
	if r.FromPort == 0 && r.ToPort == 65535 && rnd.IntN(2) == 0 {
		r.FromPort, r.ToPort = -1, -1
	}
	r.Description = fmt.Sprint(rnd.Int())
	return r
}

// TestCompareProperty: for random groups, live = declared respelled, with k
// distinct new rules added and m declared rules dropped: Compare reports
// exactly those k additions and m removals, whatever the order.
func TestCompareProperty(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	pool := func(i int) inventory.SGRule {
		switch i % 5 {
		case 0:
			return inventory.SGRule{Protocol: "tcp", FromPort: 1000 + i, ToPort: 1000 + i, CIDR: "10.1.0.0/16"}
		case 1:
			return inventory.SGRule{Protocol: "udp", FromPort: i, ToPort: i + 10, Group: fmt.Sprintf("sg-%d", i)}
		case 2:
			return inventory.SGRule{Protocol: "tcp", FromPort: 0, ToPort: 65535, PrefixList: fmt.Sprintf("pl-%d", i)}
		case 3:
			return inventory.SGRule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: fmt.Sprintf("2600:1f18:%x::/64", i)}
		}
		return inventory.SGRule{Protocol: "icmp", FromPort: i % 16, ToPort: -1, CIDR: fmt.Sprintf("192.0.2.%d/32", i%256)}
	}
	for iter := range 500 {
		perm := rnd.Perm(60)
		n, k := rnd.IntN(20), rnd.IntN(5)
		declared := make([]inventory.SGRule, n)
		for i := range n {
			declared[i] = pool(perm[i])
		}
		m := 0
		if n > 0 {
			m = rnd.IntN(min(n, 5) + 1)
		}
		var live []inventory.SGRule
		for _, r := range declared[m:] { // the first m are dropped
			live = append(live, respell(r, rnd))
		}
		for i := range k { // k rules not declared
			live = append(live, respell(pool(perm[n+i]), rnd))
		}
		rnd.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		d := &inventory.Declaration{SecurityGroups: []inventory.SecurityGroup{{ID: "sg-1", Ingress: declared}}}
		s := &inventory.Snapshot{SecurityGroups: []inventory.SecurityGroup{{ID: "sg-1", Ingress: live}}}
		var added, removed int
		for _, f := range drift.Compare(d, s).Findings {
			switch f.Change {
			case drift.Added:
				added++
			case drift.Removed:
				removed++
			}
		}
		if added != k || removed != m {
			t.Fatalf("iteration %d: %d added, %d removed; want %d and %d\ndeclared %+v\nlive %+v", iter, added, removed, k, m, declared, live)
		}
	}
}
