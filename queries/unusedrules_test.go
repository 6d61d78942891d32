package queries_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/flowq/flowq/internal/inventory/invdb/invdbtest"
	"github.com/flowq/flowq/queries"
)

// TestUnusedRulesNATInstance: packets a NAT instance forwards pass its
// security group, ingress from the host behind it and egress to the
// internet, although neither address of the untranslated packet is the
// instance's. The demo network's tasks reach the internet through its NAT
// instance (eni-0a1b2c3d4e5f600aa, 10.0.1.10, sg-0nat); the records are
// those a VPC flow log writes for one DNS query and one HTTPS connection:
// on the task's interface, and on the NAT's, the forwarded leg and the
// translated one. The rules they use are worked out by hand.
func TestUnusedRulesNATInstance(t *testing.T) {
	const task, natENI = "eni-0a1b2c3d4e5f60011", "eni-0a1b2c3d4e5f600aa"
	flows := [][]any{
		{task, "10.0.11.50", "1.1.1.1", 53, 17, "ACCEPT"},
		{natENI, "10.0.11.50", "1.1.1.1", 53, 17, "ACCEPT"}, // forwarded: the NAT's ingress udp 53 from 10.0.0.0/16
		{natENI, "10.0.1.10", "1.1.1.1", 53, 17, "ACCEPT"},  // translated: its egress udp 53 to 0.0.0.0/0
		{natENI, "1.1.1.1", "10.0.1.10", 41000, 17, "ACCEPT"},
		{natENI, "1.1.1.1", "10.0.11.50", 41000, 17, "ACCEPT"},
		{task, "10.0.11.50", "203.0.113.77", 443, 6, "ACCEPT"},
		{natENI, "10.0.11.50", "203.0.113.77", 443, 6, "ACCEPT"}, // ingress tcp 443 from 10.0.11.0/24
		{natENI, "10.0.1.10", "203.0.113.77", 443, 6, "ACCEPT"},  // egress tcp 443 to 0.0.0.0/0
		{natENI, "10.0.11.51", "198.51.100.7", 80, 6, "REJECT"},  // rejected: uses nothing
	}
	used := []string{
		"sg-0ecs (tradai-ecs-sg) egress udp 53 to 0.0.0.0/0",
		"sg-0ecs (tradai-ecs-sg) egress tcp 443 to 0.0.0.0/0",
		"sg-0nat (tradai-nat-sg) ingress udp 53 from 10.0.0.0/16",
		"sg-0nat (tradai-nat-sg) egress udp 53 to 0.0.0.0/0",
		"sg-0nat (tradai-nat-sg) ingress tcp 443 from 10.0.11.0/24",
		"sg-0nat (tradai-nat-sg) egress tcp 443 to 0.0.0.0/0",
	}
	checkUnused(t, flows, used)
}

// TestUnusedRulesDepartedInterfaces: the tables hold the newest snapshot,
// but Fargate tasks and Lambda interfaces come and go: an ACCEPTed flow of
// an address in the VPC's subnets that no interface of the snapshot holds
// was an interface's that has gone, which may have been in any group. The
// rules it may have used are not reported unused (worked out by hand on
// the demo network: a task gone from 10.0.12.77 queried the database, a
// batch job gone from 10.0.11.99 called an HTTPS API).
func TestUnusedRulesDepartedInterfaces(t *testing.T) {
	flows := [][]any{
		{"eni-0gone1", "10.0.12.77", "10.0.21.100", 5432, 6, "ACCEPT"},
		{"eni-0a1b2c3d4e5f60021", "10.0.12.77", "10.0.21.100", 5432, 6, "ACCEPT"},
		{"eni-0gone2", "10.0.11.99", "203.0.113.9", 443, 6, "ACCEPT"},
	}
	used := []string{
		"sg-0rds (tradai-rds-sg) ingress tcp 5432 from sg-0ecs", // the task may have been in sg-0ecs
		"sg-0ecs (tradai-ecs-sg) egress tcp 5432 to sg-0rds",    // the task's group may have been any
		"sg-0vpce (tradai-vpce-sg) egress all to 0.0.0.0/0",
		"sg-0ecs (tradai-ecs-sg) egress tcp 443 to 0.0.0.0/0", // likewise the batch job's
		"sg-0lambda (tradai-lambda-sg) egress tcp 443 to 0.0.0.0/0",
		"sg-0nat (tradai-nat-sg) egress tcp 443 to 0.0.0.0/0",
	}
	checkUnused(t, flows, used)
}

// TestUnusedRulesWithoutAccepts: a flow log that captures REJECTed
// traffic only (flow logs take ALL, ACCEPT or REJECT; the TradAI design
// logs REJECTs), or a time range without ACCEPTed records, says nothing of
// which rules flows used: the query fails and says why instead of listing
// every rule as unused.
func TestUnusedRulesWithoutAccepts(t *testing.T) {
	db := unusedSession(t, [][]any{
		{"eni-0a1b2c3d4e5f60001", "198.18.7.9", "10.0.1.25", 22, 6, "REJECT"},
		{"eni-0a1b2c3d4e5f60012", "10.0.11.51", "10.0.21.100", 22, 6, "REJECT"},
	})
	q, err := queries.Get("unused-rules")
	if err != nil {
		t.Fatal(err)
	}
	body, err := q.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(body)
	if err == nil {
		n := 0
		for rows.Next() {
			n++
		}
		err = rows.Err()
		rows.Close()
		if err == nil {
			t.Fatalf("%d rules reported unused from REJECTed records alone", n)
		}
	}
	if !strings.Contains(err.Error(), "no ACCEPTed flow") {
		t.Errorf("error %v, want one saying there is no ACCEPTed flow", err)
	}
}

// checkUnused runs the unused-rules query over flows (interface, src,
// dst, dstport, protocol, action) and the demo network's inventory, and
// checks that it reports every security-group rule but those in used.
func checkUnused(t *testing.T, flows [][]any, used []string) {
	t.Helper()
	db := unusedSession(t, flows)
	q, err := queries.Get("unused-rules")
	if err != nil {
		t.Fatal(err)
	}
	body, err := q.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	unused := invdbtest.Strings(t, db, "SELECT rule FROM ("+body+")")
	all := invdbtest.Strings(t, db, "SELECT rule FROM security_group_rules ORDER BY rule")
	var want []string
	for _, r := range all {
		if !slices.Contains(used, r) {
			want = append(want, r)
		}
	}
	for _, u := range used {
		if !slices.Contains(all, u) {
			t.Fatalf("test rule %q is not in the inventory: %v", u, all)
		}
	}
	slices.Sort(unused)
	if !slices.Equal(unused, want) {
		t.Errorf("unused rules:\n%s\nwant:\n%s", strings.Join(unused, "\n"), strings.Join(want, "\n"))
	}
}

// unusedSession opens a DuckDB session with flowq's macros, a flows table
// of the given records (interface, src, dst, dstport, protocol, action)
// and the demo network's inventory tables.
func unusedSession(t *testing.T, flows [][]any) *sql.DB {
	return invdbtest.Session(t, "interface_id VARCHAR, srcaddr VARCHAR, dstaddr VARCHAR, dstport INTEGER, protocol INTEGER, action VARCHAR", flows)
}
