package invdb_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/flowq/flowq/internal/inventory/invdb/invdbtest"
	"github.com/flowq/flowq/queries"
)

// session opens a DuckDB session with flowq's macros, a flows table of the
// given records (src, dst, dstport, protocol, action) and the demo
// network's inventory tables.
func session(t *testing.T, flows [][]any) *sql.DB {
	return invdbtest.Session(t, "srcaddr VARCHAR, dstaddr VARCHAR, dstport INTEGER, protocol INTEGER, action VARCHAR, interface_id VARCHAR", flows)
}

func TestInterfacesTable(t *testing.T) {
	db := session(t, nil)
	got := invdbtest.Strings(t, db, "SELECT name || ' ' || subnet_name || ' ' || security_groups[1] FROM interfaces WHERE address = '10.0.21.100'")
	if !slices.Equal(got, []string{"tradai-postgres tradai-db-a sg-0rds"}) {
		t.Errorf("10.0.21.100: %v", got)
	}
	// Public and IPv6 addresses resolve too; the NAT instance is marked.
	got = invdbtest.Strings(t, db, "SELECT address FROM interfaces WHERE eni = 'eni-0a1b2c3d4e5f60001' ORDER BY address")
	if !slices.Equal(got, []string{"10.0.1.25", "192.0.2.25", "2600:1f18:1:101::25"}) {
		t.Errorf("alb addresses: %v", got)
	}
	if got := invdbtest.Strings(t, db, "SELECT address FROM interfaces WHERE nat"); !slices.Equal(got, []string{"10.0.1.10", "192.0.2.10"}) {
		t.Errorf("nat: %v", got)
	}
}

// TestUnusedRules checks the named query against rules derived by hand
// from the demo network for a few flows: the rules each ACCEPTed flow
// needs are used, every other rule (and whatever a REJECT touched) is not.
func TestUnusedRules(t *testing.T) {
	flows := [][]any{
		{"10.0.11.50", "10.0.21.100", 5432, 6, "ACCEPT"},         // ecs egress 5432 to sg-rds; rds ingress from sg-ecs
		{"203.0.113.5", "10.0.1.25", 443, 6, "ACCEPT"},           // alb ingress 443 from 0.0.0.0/0
		{"2001:db8::5", "2600:1f18:1:101::25", 443, 6, "ACCEPT"}, // alb ingress 443 from ::/0
		{"10.0.1.25", "10.0.12.51", 5000, 6, "ACCEPT"},           // alb egress 5000 to sg-ecs; ecs ingress 5000 from sg-alb
		{"10.0.11.51", "10.0.21.100", 22, 6, "REJECT"},           // rejected: uses nothing
		{"10.0.11.50", "52.216.8.13", 443, 6, "ACCEPT"},          // ecs egress 443 anywhere
		{"10.0.11.50", "1.1.1.1", 53, 17, "ACCEPT"},              // ecs egress udp 53
	}
	db := session(t, flows)
	q, err := queries.Get("unused-rules")
	if err != nil {
		t.Fatal(err)
	}
	body, err := q.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	unused := invdbtest.Strings(t, db, "SELECT rule FROM ("+body+")")
	used := []string{
		"sg-0ecs (tradai-ecs-sg) egress tcp 5432 to sg-0rds",
		"sg-0rds (tradai-rds-sg) ingress tcp 5432 from sg-0ecs",
		"sg-0alb (tradai-alb-sg) ingress tcp 443 from 0.0.0.0/0",
		"sg-0alb (tradai-alb-sg) ingress tcp 443 from ::/0",
		"sg-0alb (tradai-alb-sg) egress tcp 5000 to sg-0ecs",
		"sg-0ecs (tradai-ecs-sg) ingress tcp 5000 from sg-0alb",
		"sg-0ecs (tradai-ecs-sg) egress tcp 443 to 0.0.0.0/0",
		"sg-0ecs (tradai-ecs-sg) egress udp 53 to 0.0.0.0/0",
	}
	all := invdbtest.Strings(t, db, "SELECT rule FROM security_group_rules ORDER BY rule")
	for _, u := range used {
		if !slices.Contains(all, u) {
			t.Fatalf("test rule %q is not in the inventory: %v", u, all)
		}
		if slices.Contains(unused, u) {
			t.Errorf("used rule reported unused: %s", u)
		}
	}
	if len(unused) != len(all)-len(used) {
		t.Errorf("%d unused of %d rules, want %d:\n%s", len(unused), len(all), len(all)-len(used), strings.Join(unused, "\n"))
	}
	for _, want := range []string{"sg-0lambda (tradai-lambda-sg) egress tcp 8002 to sg-0ecs", "sg-0ecs (tradai-ecs-sg) ingress tcp 5000 from sg-0ecs"} {
		if !slices.Contains(unused, want) {
			t.Errorf("%s not reported unused", want)
		}
	}
}
