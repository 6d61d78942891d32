package policy_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/policy"
)

// TestRecord: a record is judged as a request, then as the reply of an
// allowed connection (security groups are stateful); a request whose
// replies a network ACL drops was itself let through.
func TestRecord(t *testing.T) {
	x := inventory.NewIndex(inventory.DemoSnapshot(time.Unix(0, 0)))
	noEphemeral := inventory.DemoSnapshot(time.Unix(0, 0))
	a := acl(noEphemeral, "acl-0database")
	a.Entries = slices.DeleteFunc(a.Entries, func(e inventory.ACLEntry) bool { return e.Egress && e.Number == 100 })
	y := inventory.NewIndex(noEphemeral)
	rec := func(src string, sport int, dst string, dport int) policy.Query {
		return policy.Query{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport, Protocol: 6}
	}
	for _, tc := range []struct {
		name    string
		x       *inventory.Index
		query   policy.Query
		allowed bool
		reply   bool
		layer   string
	}{
		{"request", x, rec(ecs1, 43512, rds1, 5432), true, false, "security-group"},
		{"reply of an allowed connection", x, rec(rds1, 5432, ecs1, 43512), true, true, "security-group"},
		{"reply to a denied request", x, rec(rds1, 22, ecs1, 43512), false, false, "security-group"},
		{"reply from below the database acl's ephemeral range", x, rec(rds1, 5432, ecs1, 1000), false, false, "security-group"},
		{"request whose replies the acl drops: the request passed", y, rec(ecs1, 43512, rds1, 5432), true, false, "network-acl"},
		{"the dropped reply itself", y, rec(rds1, 5432, ecs1, 43512), false, false, "security-group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.Record(tc.x, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != tc.allowed || got.Reply != tc.reply || got.Result.Layer != tc.layer {
				t.Errorf("got allowed=%v reply=%v layer %s (%s), want allowed=%v reply=%v layer %s", got.Allowed, got.Reply, got.Result.Layer, got.Result.Rule, tc.allowed, tc.reply, tc.layer)
			}
		})
	}
}

// TestRecordPortlessReply: flow logs give ICMP records no ports (0 and 0),
// so an echo reply cannot be told from a request by its ports; security
// groups track ICMP as they track tcp and udp, so a record is a reply when
// the reverse flow is allowed. The vpc endpoint (all egress) pings an ecs
// task whose group admits icmp from the endpoint's group; the task's group
// has no icmp egress, so its echo replies are let through by state alone.
func TestRecordPortlessReply(t *testing.T) {
	pings := inventory.DemoSnapshot(time.Unix(0, 0))
	sg(pings, "sg-0ecs").Ingress = append(sg(pings, "sg-0ecs").Ingress, inventory.SGRule{Protocol: "icmp", FromPort: -1, ToPort: -1, Group: "sg-0vpce"})
	x := inventory.NewIndex(pings)
	y := inventory.NewIndex(inventory.DemoSnapshot(time.Unix(0, 0))) // no icmp rule
	for _, tc := range []struct {
		name           string
		x              *inventory.Index
		query          policy.Query
		allowed, reply bool
	}{
		{"echo request", x, q(vpce, ecs1, 0, 1), true, false},
		{"echo reply: the task's egress has no icmp rule", x, q(ecs1, vpce, 0, 1), true, true},
		{"a 'reply' to a request the task's group drops", y, q(ecs1, vpce, 0, 1), false, false},
		{"protocol 47 (gre) back from the task", func() *inventory.Index {
			s := inventory.DemoSnapshot(time.Unix(0, 0))
			sg(s, "sg-0ecs").Ingress = append(sg(s, "sg-0ecs").Ingress, inventory.SGRule{Protocol: "47", FromPort: -1, ToPort: -1, Group: "sg-0vpce"})
			return inventory.NewIndex(s)
		}(), q(ecs1, vpce, 0, 47), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.Record(tc.x, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != tc.allowed || got.Reply != tc.reply {
				t.Errorf("got allowed=%v reply=%v (%s %s), want allowed=%v reply=%v", got.Allowed, got.Reply, got.Result.Layer, got.Result.Rule, tc.allowed, tc.reply)
			}
		})
	}
}

// TestRecordBeforeTheNAT: a host's record of a flow to the internet is
// logged on its own interface, before the NAT: the NAT's checks come after
// it (a NAT's own records are not judged), so a NAT instance whose group
// drops the flow does not make the host's ACCEPTed record a contradiction,
// though explain denies the flow at the NAT.
func TestRecordBeforeTheNAT(t *testing.T) {
	s := inventory.DemoSnapshot(time.Unix(0, 0))
	g := sg(s, "sg-0nat")
	g.Ingress = slices.DeleteFunc(g.Ingress, func(r inventory.SGRule) bool { return r.CIDR == "10.0.12.0/24" && r.FromPort == 443 })
	x := inventory.NewIndex(s)
	req := policy.Query{Src: netip.MustParseAddr(ecs4), Dst: netip.MustParseAddr("203.0.113.77"), SrcPort: 50000, DstPort: 443, Protocol: 6}
	if res, err := policy.Evaluate(x, req); err != nil || res.Verdict != policy.Deny || !strings.HasPrefix(res.Rule, "sg-0nat") {
		t.Fatalf("explain: %v %+v", err, res)
	}
	got, err := policy.Record(x, req)
	if err != nil || !got.Allowed || got.Reply {
		t.Errorf("the task's record: %v allowed=%v reply=%v (%s %s), want allowed as a request", err, got.Allowed, got.Reply, got.Result.Layer, got.Result.Rule)
	}
	// The task's own group still counts: ssh to the internet is no rule's.
	got, err = policy.Record(x, policy.Query{Src: req.Src, Dst: req.Dst, SrcPort: 50000, DstPort: 22, Protocol: 6})
	if err != nil || got.Allowed || got.Result.Rule != "sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/22 to 203.0.113.77" {
		t.Errorf("ssh: %v allowed=%v (%s)", err, got.Allowed, got.Result.Rule)
	}
}

// TestRecordOn: a record judged as the interface that logged it saw it,
// worked out by hand on the demo network. The source's interface logs a
// request its own group and subnet ACL let out, whatever the destination
// then does with it (the destination's interface logs that); a reply the
// connection's request path and its own subnet ACL let out.
func TestRecordOn(t *testing.T) {
	const ecsENI, ecs2ENI, rdsENI, vpceENI = "eni-0a1b2c3d4e5f60011", "eni-0a1b2c3d4e5f60012", "eni-0a1b2c3d4e5f60021", "eni-0a1b2c3d4e5f600ee"
	without := func(aclID string, egress bool, number int) *inventory.Index {
		s := inventory.DemoSnapshot(time.Unix(0, 0))
		a := acl(s, aclID)
		a.Entries = slices.DeleteFunc(a.Entries, func(e inventory.ACLEntry) bool { return e.Egress == egress && e.Number == number })
		return inventory.NewIndex(s)
	}
	demo := inventory.NewIndex(inventory.DemoSnapshot(time.Unix(0, 0)))
	noDBIngress := without("acl-0database", false, 100)
	noPrivateEphemeral := without("acl-0private", false, 130)
	noDBEphemeral := without("acl-0database", true, 100)
	rec := func(src string, sport int, dst string, dport int) policy.Query {
		return policy.Query{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport, Protocol: 6}
	}
	for _, tc := range []struct {
		name           string
		x              *inventory.Index
		query          policy.Query
		eni            string
		allowed, reply bool
		rule           string // when not allowed
	}{
		{"the endpoint (all egress) tries the database: its own interface lets it out", demo, rec(vpce, 40000, rds1, 5432), vpceENI, true, false, ""},
		{"the same attempt on the database's interface", demo, rec(vpce, 40000, rds1, 5432), rdsENI, false, false,
			"sg-0rds (tradai-rds-sg) ingress: no rule allows tcp/5432 from 10.0.11.200"},
		{"the same attempt, interface unknown: as Record", demo, rec(vpce, 40000, rds1, 5432), "", false, false,
			"sg-0rds (tradai-rds-sg) ingress: no rule allows tcp/5432 from 10.0.11.200"},
		{"a task's query the database's acl no longer admits, on the task's interface", noDBIngress, rec(ecs1, 43512, rds1, 5432), ecsENI, true, false, ""},
		{"the same query on the database's interface", noDBIngress, rec(ecs1, 43512, rds1, 5432), rdsENI, false, false,
			"acl-0database (tradai-database-nacl) ingress rule * deny all from 0.0.0.0/0"},
		{"the source's own group still counts on its interface", demo, rec(ecs2, 41000, rds1, 22), ecs2ENI, false, false,
			"sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/22 to 10.0.21.100"},
		{"a reply the task's subnet acl drops, on the database's interface", noPrivateEphemeral, rec(rds1, 5432, ecs1, 43512), rdsENI, true, true, ""},
		{"the same reply on the task's interface", noPrivateEphemeral, rec(rds1, 5432, ecs1, 43512), ecsENI, false, false,
			"sg-0rds (tradai-rds-sg) egress: no rule allows tcp/43512 to 10.0.11.50"},
		{"a reply the database's own subnet acl drops, on its interface", noDBEphemeral, rec(rds1, 5432, ecs1, 43512), rdsENI, false, false,
			"sg-0rds (tradai-rds-sg) egress: no rule allows tcp/43512 to 10.0.11.50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.RecordOn(tc.x, tc.query, tc.eni)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != tc.allowed || got.Reply != tc.reply || !tc.allowed && got.Result.Rule != tc.rule {
				t.Errorf("got allowed=%v reply=%v %q, want allowed=%v reply=%v %q", got.Allowed, got.Reply, got.Result.Rule, tc.allowed, tc.reply, tc.rule)
			}
			// Judged on the destination's interface, or on none, a record is
			// judged as Record judges it.
			if ifc := tc.x.InterfaceByAddr(tc.query.Src); ifc == nil || ifc.ID != tc.eni {
				want, _ := policy.Record(tc.x, tc.query)
				if want.Allowed != got.Allowed || want.Reply != got.Reply || want.Result.Rule != got.Result.Rule {
					t.Errorf("not on the source's interface: %+v, Record %+v", got, want)
				}
			}
		})
	}
}

// TestRecordToTheInternet: a record of a flow from the VPC to an address
// outside it (or to an interface's public address, which the interface
// itself never logs: it logs its private one) can only be the source
// interface's, which logs what its own group and subnet ACL let out; the
// route beyond (no public address, a blackhole) drops packets the record
// counted as ACCEPTed, no contradiction.
func TestRecordToTheInternet(t *testing.T) {
	noPublic := inventory.DemoSnapshot(time.Unix(0, 0))
	noPublic.Interfaces[0].PublicIPs = nil
	sg(noPublic, "sg-0alb").Egress = append(sg(noPublic, "sg-0alb").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0"})
	blackhole := inventory.DemoSnapshot(time.Unix(0, 0))
	blackhole.RouteTables[1].Routes[1].State = "blackhole"
	rec := func(src string, sport int, dst string, dport int) policy.Query {
		return policy.Query{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport, Protocol: 6}
	}
	for _, tc := range []struct {
		name    string
		s       *inventory.Snapshot
		query   policy.Query
		allowed bool
		rule    string
	}{
		{"an alb without a public address", noPublic, rec(alb1, 40000, "203.0.113.77", 443), true, ""},
		{"a blackholed default route", blackhole, rec(ecs1, 40000, "203.0.113.77", 443), true, ""},
		{"the source's own group still counts", blackhole, rec(ecs1, 40000, "203.0.113.77", 22), false,
			"sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/22 to 203.0.113.77"},
		{"from the internet: the destination's interface logged it", noPublic, rec("203.0.113.5", 40000, alb1, 22), false,
			"acl-0public (tradai-public-nacl) ingress rule * deny all from 0.0.0.0/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := inventory.NewIndex(tc.s)
			if res, err := policy.Evaluate(x, tc.query); err != nil || res.Verdict != policy.Deny {
				t.Fatalf("explain: %v %s", err, res.Verdict)
			}
			got, err := policy.Record(x, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if got.Allowed != tc.allowed || !tc.allowed && got.Result.Rule != tc.rule {
				t.Errorf("got allowed=%v %q, want allowed=%v %q", got.Allowed, got.Result.Rule, tc.allowed, tc.rule)
			}
		})
	}
}
