package resolve_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

var day = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)

// runPolicy parses text and runs the policy detector over it with the
// snapshot s, returning the alerts.
func runPolicy(t *testing.T, s *inventory.Snapshot, text string) []detect.Alert {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := resolve.New(one{inventory.NewIndex(s)}, resolve.Options{})
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	det, err := detect.NewPolicyDetector(r, detect.NewMemoryState(), func() time.Time { return day.Add(48 * time.Hour) }, cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	rd := parse.NewReader(strings.NewReader(text), parse.Options{Allocator: mem, Format: synth.DetectFormat})
	defer rd.Release()
	var alerts []detect.Alert
	for k := 0; rd.Next(); k++ {
		as, err := det.Process(context.Background(), fmt.Sprint("b", k), rd.RecordBatch())
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, as...)
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return alerts
}

// TestPolicyQuietOnTheDemoNetwork: a day of the demo's ordinary traffic and
// incidents agrees with the demo network's rules: ACCEPTed records are
// allowed (requests, and replies by statefulness), REJECTed ones are
// denied by the security groups, so the policy detector stays quiet.
func TestPolicyQuietOnTheDemoNetwork(t *testing.T) {
	text, _ := synth.Scenario(3, synth.DetectFormat, day, 24*time.Hour, 20_000, day.Add(14*time.Hour))
	if alerts := runPolicy(t, inventory.DemoSnapshot(day), string(text)); len(alerts) != 0 {
		for _, a := range alerts[:min(5, len(alerts))] {
			t.Errorf("unexpected: %s", a.Title)
		}
	}
}

// TestPolicyFindings: an ACCEPTed flow the rules deny, and a reply a
// network ACL drops while the security groups allow the connection.
func TestPolicyFindings(t *testing.T) {
	at := day.Add(10 * time.Hour).Unix()
	line := func(eni, src, dst string, sport, dport int, action string) string {
		return fmt.Sprintf("5 123456789012 %s %s %s %d %d 6 10 1000 %d %d %s OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv4 %s %s - egress\n",
			eni, src, dst, sport, dport, at, at+30, action, src, dst)
	}
	const ecs, rds = "eni-0a1b2c3d4e5f60011", "eni-0a1b2c3d4e5f60021"
	text := synth.DetectFormat.Header() + "\n" +
		// SSH from an ECS task to the database, ACCEPTed: the rules deny it.
		line(ecs, "10.0.11.51", "10.0.21.100", 41000, 22, "ACCEPT") +
		line(ecs, "10.0.11.51", "10.0.21.100", 41001, 22, "ACCEPT") +
		// PostgreSQL and its replies: allowed, no finding.
		line(ecs, "10.0.11.50", "10.0.21.100", 43512, 5432, "ACCEPT") +
		line(rds, "10.0.21.100", "10.0.11.50", 5432, 43512, "ACCEPT")
	alerts := runPolicy(t, inventory.DemoSnapshot(day), text)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(alerts), alerts)
	}
	a := alerts[0]
	if a.Detector != "policy" || a.Severity != "high" || a.Src != "10.0.11.51" || a.Dst != "10.0.21.100" || a.Count != 2 ||
		a.Rule != "security-group: sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/22 to 10.0.21.100" ||
		!slices.Equal(a.Ports, []int{22}) || a.ID != detect.AlertID(a.Key()) {
		t.Errorf("alert: %+v", a)
	}
	if a.SrcResource == nil || a.SrcResource.Name != "tradai-data-collection" || a.DstResource == nil || a.DstResource.Name != "tradai-postgres" {
		t.Errorf("resources: %+v %+v", a.SrcResource, a.DstResource)
	}
	if !strings.Contains(a.Title, "ACCEPTed but the rules deny it") {
		t.Errorf("title %q", a.Title)
	}

	// The database's ACL loses its ephemeral egress rule: replies are
	// REJECTed while the groups allow the connection.
	s := inventory.DemoSnapshot(day)
	for i := range s.NetworkACLs {
		if s.NetworkACLs[i].ID == "acl-0database" {
			s.NetworkACLs[i].Entries = slices.DeleteFunc(s.NetworkACLs[i].Entries, func(e inventory.ACLEntry) bool { return e.Egress && e.Number == 100 })
		}
	}
	text = synth.DetectFormat.Header() + "\n" +
		line(ecs, "10.0.11.50", "10.0.21.100", 43512, 5432, "ACCEPT") +
		line(rds, "10.0.21.100", "10.0.11.50", 5432, 43512, "REJECT")
	alerts = runPolicy(t, s, text)
	if len(alerts) != 1 {
		t.Fatalf("acl drop: %d alerts, want 1: %+v", len(alerts), alerts)
	}
	a = alerts[0]
	if a.Severity != "medium" || a.Src != "10.0.21.100" || !strings.HasPrefix(a.Rule, "network-acl: acl-0database (tradai-database-nacl) egress rule *") ||
		!strings.Contains(a.Title, "a network ACL drops what the security groups allow") {
		t.Errorf("acl drop alert: %+v", a)
	}

	// The private ACL loses its rule for the ALB in zone a and its inbound
	// ephemeral range (which also admitted 8000): the ALB's requests to the
	// API are REJECTed though both groups allow them.
	s = inventory.DemoSnapshot(day)
	for i := range s.NetworkACLs {
		if s.NetworkACLs[i].ID == "acl-0private" {
			s.NetworkACLs[i].Entries = slices.DeleteFunc(s.NetworkACLs[i].Entries, func(e inventory.ACLEntry) bool { return !e.Egress && (e.Number == 100 || e.Number == 130) })
		}
	}
	text = synth.DetectFormat.Header() + "\n" +
		line("eni-0a1b2c3d4e5f60013", "10.0.1.25", "10.0.12.50", 40000, 8000, "REJECT") +
		line("eni-0a1b2c3d4e5f60013", "10.0.2.25", "10.0.12.50", 40001, 8000, "ACCEPT")
	alerts = runPolicy(t, s, text)
	if len(alerts) != 1 || alerts[0].Src != "10.0.1.25" ||
		alerts[0].Rule != "network-acl: acl-0private (tradai-private-nacl) ingress rule * deny all from 0.0.0.0/0" {
		t.Errorf("request dropped by an acl: %+v", alerts)
	}
}

// TestJudgeCoversClientPorts: a verdict holds for the ports of its box
// (policy.PortBox), not for its record's ports alone, so the records of
// one busy flow, each with a client port of its own, cost one judgement:
// here 2,000 ACCEPTed queries to the database from ephemeral ports after
// its network ACL lost the rule that admitted them (the rules deny them
// all), then 2,000 REJECTed replies to them.
func TestJudgeCoversClientPorts(t *testing.T) {
	s := inventory.DemoSnapshot(day)
	for i := range s.NetworkACLs {
		if s.NetworkACLs[i].ID == "acl-0database" {
			s.NetworkACLs[i].Entries = slices.DeleteFunc(s.NetworkACLs[i].Entries, func(e inventory.ACLEntry) bool { return !e.Egress && e.Number == 100 })
		}
	}
	r := resolve.New(one{inventory.NewIndex(s)}, resolve.Options{})
	rules, _, _, ok := r.Rules(day.Unix())
	if !ok {
		t.Fatal("no rules")
	}
	task, db := netip.MustParseAddr("10.0.11.51"), netip.MustParseAddr("10.0.21.100")
	boxes := map[detect.PortBox]bool{}
	for sp := 32768; sp < 32768+2000; sp++ {
		f, bad, box := rules.Judge(detect.PolicyFlow{Src: task, Dst: db, SrcPort: sp, DstPort: 5432, Protocol: 6, Accepted: true})
		if !bad || f.Kind != detect.PolicyAcceptedDenied || f.Layer != "network-acl" || box.SrcLo > sp || box.SrcHi < sp || box.DstLo > 5432 || box.DstHi < 5432 {
			t.Fatalf("port %d: %+v bad=%v ports %+v", sp, f, bad, box)
		}
		boxes[box] = true
	}
	if len(boxes) != 1 {
		t.Errorf("2,000 client ports in %d boxes, want 1", len(boxes))
	}
	// Their replies, from the database's port to each client's, REJECTed
	// by the database's ACL that lost its ephemeral egress rule too, which
	// the security groups allow (stateful): findings too.
	for i := range s.NetworkACLs {
		if s.NetworkACLs[i].ID == "acl-0database" {
			s.NetworkACLs[i].Entries = slices.DeleteFunc(s.NetworkACLs[i].Entries, func(e inventory.ACLEntry) bool { return e.Egress && e.Number == 100 })
		}
	}
	r = resolve.New(one{inventory.NewIndex(s)}, resolve.Options{})
	if rules, _, _, ok = r.Rules(day.Unix()); !ok {
		t.Fatal("no rules")
	}
	clear(boxes)
	for dp := 32768; dp < 32768+2000; dp++ {
		f, bad, box := rules.Judge(detect.PolicyFlow{Src: db, Dst: task, SrcPort: 5432, DstPort: dp, Protocol: 6})
		if !bad || f.Kind != detect.PolicyACLDrop || box.DstLo > dp || box.DstHi < dp || box.SrcLo > 5432 || box.SrcHi < 5432 || box.SrcHi >= box.DstLo {
			t.Fatalf("reply to port %d: bad=%v ports %+v", dp, bad, box)
		}
		boxes[box] = true
	}
	if len(boxes) != 1 {
		t.Errorf("replies to 2,000 client ports in %d boxes, want 1", len(boxes))
	}
}

// TestPolicyAtSource: "why can't the ECS task reach the database?" with
// the tasks' group letting everything out (AWS's default egress rule) and
// the task trying MySQL's port. The task's interface logs the attempts
// ACCEPTed (its group and its subnet's ACL, which lets out 1024-65535, let
// them out) and the database's logs them REJECTed (its subnet's ACL and
// group admit PostgreSQL only): the rules and the traffic agree, so no
// finding. Judged over the whole path, the task's ACCEPTs were "ACCEPTed
// but the rules deny it" (high). The same ACCEPT on the database's
// interface is a finding: the database's ACL let in what it denies.
func TestPolicyAtSource(t *testing.T) {
	s := inventory.DemoSnapshot(day)
	for i := range s.SecurityGroups {
		if s.SecurityGroups[i].ID == "sg-0ecs" {
			s.SecurityGroups[i].Egress = []inventory.SGRule{{Protocol: "-1", CIDR: "0.0.0.0/0", Description: "all traffic"}}
		}
	}
	at := day.Add(10 * time.Hour).Unix()
	line := func(eni, src, dst string, sport, dport int, action, dir string) string {
		return fmt.Sprintf("5 123456789012 %s %s %s %d %d 6 3 180 %d %d %s OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv4 %s %s - %s\n",
			eni, src, dst, sport, dport, at, at+30, action, src, dst, dir)
	}
	const task, db = "eni-0a1b2c3d4e5f60012", "eni-0a1b2c3d4e5f60021"
	text := synth.DetectFormat.Header() + "\n" +
		line(task, "10.0.11.51", "10.0.21.100", 41000, 3306, "ACCEPT", "egress") +
		line(task, "10.0.11.51", "10.0.21.100", 41001, 3306, "ACCEPT", "egress") +
		line(db, "10.0.11.51", "10.0.21.100", 41000, 3306, "REJECT", "ingress") +
		line(db, "10.0.11.51", "10.0.21.100", 41001, 3306, "REJECT", "ingress")
	if alerts := runPolicy(t, s, text); len(alerts) != 0 {
		t.Errorf("the task's ACCEPT of what the database refuses: %d alerts, want none: %s", len(alerts), alerts[0].Title)
	}
	text = synth.DetectFormat.Header() + "\n" + line(db, "10.0.11.51", "10.0.21.100", 41002, 3306, "ACCEPT", "ingress")
	alerts := runPolicy(t, s, text)
	if len(alerts) != 1 || alerts[0].Severity != "high" || !strings.HasPrefix(alerts[0].Rule, "network-acl: acl-0database (tradai-database-nacl) ingress rule *") {
		t.Errorf("the database's ACCEPT of what its ACL denies: %+v, want one high alert at its ACL", alerts)
	}
}

// TestPolicyICMPReplyDropped: a task pings the database, whose group and
// subnet ACL admit ICMP from the tasks' subnet, but the tasks' subnet ACL
// admits no ICMP inbound: the echo reply is REJECTed on the task's
// interface while the security groups allow the ping (they track ICMP as
// they track TCP). Flow logs give ICMP ports 0 and 0, so the record cannot
// say it is a reply: it is read both ways. The finding names the tasks'
// ACL; the request and the database's ACCEPTed reply raise nothing.
func TestPolicyICMPReplyDropped(t *testing.T) {
	s := inventory.DemoSnapshot(day)
	for i := range s.SecurityGroups {
		switch g := &s.SecurityGroups[i]; g.ID {
		case "sg-0ecs":
			g.Egress = append(g.Egress, inventory.SGRule{Protocol: "icmp", FromPort: -1, ToPort: -1, CIDR: "10.0.21.0/24", Description: "ping the database"})
		case "sg-0rds":
			g.Ingress = append(g.Ingress, inventory.SGRule{Protocol: "icmp", FromPort: -1, ToPort: -1, CIDR: "10.0.11.0/24", Description: "ping from the tasks"})
		}
	}
	for i := range s.NetworkACLs {
		if a := &s.NetworkACLs[i]; a.ID == "acl-0database" {
			a.Entries = append(a.Entries,
				inventory.ACLEntry{Number: 200, Protocol: "1", Allow: true, CIDR: "10.0.11.0/24", FromPort: -1, ToPort: -1},
				inventory.ACLEntry{Number: 200, Egress: true, Protocol: "1", Allow: true, CIDR: "10.0.11.0/24", FromPort: -1, ToPort: -1})
		} else if a.ID == "acl-0private" {
			a.Entries = append(a.Entries, inventory.ACLEntry{Number: 200, Egress: true, Protocol: "1", Allow: true, CIDR: "10.0.21.0/24", FromPort: -1, ToPort: -1})
		}
	}
	at := day.Add(10 * time.Hour).Unix()
	line := func(eni, src, dst, action, dir string) string {
		return fmt.Sprintf("5 123456789012 %s %s %s 0 0 1 4 336 %d %d %s OK vpc-0flowq0seed0001 subnet-0priv1 - IPv4 %s %s - %s\n",
			eni, src, dst, at, at+30, action, src, dst, dir)
	}
	const task, db = "eni-0a1b2c3d4e5f60012", "eni-0a1b2c3d4e5f60021"
	text := synth.DetectFormat.Header() + "\n" +
		line(task, "10.0.11.51", "10.0.21.100", "ACCEPT", "egress") + // the echo request
		line(db, "10.0.11.51", "10.0.21.100", "ACCEPT", "ingress") +
		line(db, "10.0.21.100", "10.0.11.51", "ACCEPT", "egress") + // the echo reply
		line(task, "10.0.21.100", "10.0.11.51", "REJECT", "ingress")
	alerts := runPolicy(t, s, text)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want the dropped echo reply's: %+v", len(alerts), alerts)
	}
	if a := alerts[0]; a.Src != "10.0.21.100" || a.Severity != "medium" || a.Count != 1 ||
		!strings.HasPrefix(a.Rule, "network-acl: acl-0private (tradai-private-nacl) ingress rule *") {
		t.Errorf("alert %s [%s] rule %q, want the echo reply dropped by the tasks' ACL", a.Title, a.Severity, a.Rule)
	}
}
