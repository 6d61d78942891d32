package drift_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/drift"
)

func tcp(from, to int, peer string) inventory.SGRule {
	return inventory.SGRule{Protocol: "tcp", FromPort: from, ToPort: to, CIDR: peer}
}

// group is a declared or live group sg-1 with the given rules.
func group(in, out []inventory.SGRule) inventory.SecurityGroup {
	return inventory.SecurityGroup{ID: "sg-1", Name: "ALBSecurityGroup", Ingress: in, Egress: out}
}

type rules = []inventory.SGRule

// short renders findings as "change direction rule" for the table.
func short(fs []drift.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Change+" "+f.ID+" "+f.Direction+" "+f.Rule)
	}
	return out
}

// TestCompareGroups: security-group rules are compared in normal form, so
// the same rule spelled the way CloudFormation takes it and the way the EC2
// API returns it is no drift; a rule added, removed or changed outside the
// code is.
func TestCompareGroups(t *testing.T) {
	for _, tc := range []struct {
		name           string
		declared, live inventory.SecurityGroup
		want           []string
	}{
		{"identical", group(rules{tcp(443, 443, "0.0.0.0/0")}, rules{tcp(5432, 5432, "10.0.21.0/24")}),
			group(rules{tcp(443, 443, "0.0.0.0/0")}, rules{tcp(5432, 5432, "10.0.21.0/24")}), []string{}},
		{"protocol by number, CIDR not canonical, description differs",
			group(rules{{Protocol: "6", FromPort: 443, ToPort: 443, CIDR: "10.0.1.77/24", Description: "HTTPS"}}, rules{}),
			group(rules{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "10.0.1.0/24", Description: "changed by hand"}}, rules{}), []string{}},
		{"all protocols: -1, all, 0-65535 ports ignored",
			group(rules{}, rules{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}),
			group(rules{}, rules{{Protocol: "all", FromPort: 0, ToPort: 65535, CIDR: "0.0.0.0/0"}}), []string{}},
		{"tcp without ports is every port",
			group(rules{tcp(-1, -1, "10.0.0.0/16")}, rules{}), group(rules{tcp(0, 65535, "10.0.0.0/16")}, rules{}), []string{}},
		{"IPv6 spelled differently",
			group(rules{tcp(443, 443, "2600:1F18:0000:0100::/56")}, rules{}), group(rules{tcp(443, 443, "2600:1f18:0:100::/56")}, rules{}), []string{}},
		{"group reference with the account",
			group(rules{{Protocol: "tcp", FromPort: 8000, ToPort: 8000, Group: "sg-2"}}, rules{}),
			group(rules{{Protocol: "tcp", FromPort: 8000, ToPort: 8000, Group: "123456789012/sg-2"}}, rules{}), []string{}},
		{"prefix list", group(rules{}, rules{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixList: "pl-63a5400a"}}),
			group(rules{}, rules{{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixList: "pl-63a5400a"}}), []string{}},
		{"rule added outside the code",
			group(rules{tcp(443, 443, "0.0.0.0/0")}, rules{}),
			group(rules{tcp(443, 443, "0.0.0.0/0"), tcp(22, 22, "0.0.0.0/0")}, rules{}),
			[]string{"added sg-1 ingress tcp 22 from 0.0.0.0/0"}},
		{"rule removed outside the code",
			group(rules{}, rules{tcp(443, 443, "0.0.0.0/0"), {Protocol: "udp", FromPort: 53, ToPort: 53, CIDR: "0.0.0.0/0"}}),
			group(rules{}, rules{tcp(443, 443, "0.0.0.0/0")}),
			[]string{"removed sg-1 egress udp 53 to 0.0.0.0/0"}},
		{"port widened: one removed, one added",
			group(rules{tcp(8000, 8000, "10.0.1.0/24")}, rules{}), group(rules{tcp(8000, 8002, "10.0.1.0/24")}, rules{}),
			[]string{"added sg-1 ingress tcp 8000-8002 from 10.0.1.0/24", "removed sg-1 ingress tcp 8000 from 10.0.1.0/24"}},
		{"peer changed from a group to the world",
			group(rules{{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Group: "sg-ecs"}}, rules{}),
			group(rules{tcp(5432, 5432, "0.0.0.0/0")}, rules{}),
			[]string{"added sg-1 ingress tcp 5432 from 0.0.0.0/0", "removed sg-1 ingress tcp 5432 from sg-ecs"}},
		{"IPv4 and IPv6 of one rule are two rules",
			group(rules{tcp(443, 443, "0.0.0.0/0")}, rules{}), group(rules{tcp(443, 443, "0.0.0.0/0"), tcp(443, 443, "::/0")}, rules{}),
			[]string{"added sg-1 ingress tcp 443 from ::/0"}},
		{"icmp type and code",
			group(rules{{Protocol: "icmp", FromPort: 8, ToPort: -1, CIDR: "10.0.0.0/16"}}, rules{}),
			group(rules{{Protocol: "1", FromPort: 8, ToPort: 0, CIDR: "10.0.0.0/16"}}, rules{}),
			[]string{"added sg-1 ingress icmp type 8 code 0 from 10.0.0.0/16", "removed sg-1 ingress icmp type 8 code -1 from 10.0.0.0/16"}},
		{"a rule declared twice, live once",
			group(rules{tcp(80, 80, "0.0.0.0/0"), tcp(80, 80, "0.0.0.0/0")}, rules{}), group(rules{tcp(80, 80, "0.0.0.0/0")}, rules{}),
			[]string{"removed sg-1 ingress tcp 80 from 0.0.0.0/0"}},
		{"ingress and egress are not interchangeable",
			group(rules{tcp(443, 443, "0.0.0.0/0")}, rules{}), group(rules{}, rules{tcp(443, 443, "0.0.0.0/0")}),
			[]string{"added sg-1 egress tcp 443 to 0.0.0.0/0", "removed sg-1 ingress tcp 443 from 0.0.0.0/0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &inventory.Declaration{Source: "test", SecurityGroups: []inventory.SecurityGroup{tc.declared}}
			live := &inventory.Snapshot{SecurityGroups: []inventory.SecurityGroup{tc.live,
				{ID: "sg-default", Name: "default", Ingress: rules{tcp(22, 22, "0.0.0.0/0")}}}} // not declared: not looked at
			got := drift.Compare(d, live)
			if diff := cmp.Diff(short(got.Findings), tc.want); diff != "" {
				t.Errorf("findings (-got +want):\n%s", diff)
			}
			if got.Drifted() != (len(tc.want) > 0) {
				t.Errorf("Drifted() = %v", got.Drifted())
			}
		})
	}
}

func entry(num int, egress bool, proto string, from, to int, cidr string) inventory.ACLEntry {
	return inventory.ACLEntry{Number: num, Egress: egress, Protocol: proto, Allow: true, CIDR: cidr, FromPort: from, ToPort: to}
}

// TestCompareACLs: entries are compared with their numbers and actions; the
// implicit "*" deny entries EC2 lists are not drift.
func TestCompareACLs(t *testing.T) {
	declared := []inventory.ACLEntry{entry(100, false, "6", 443, 443, "0.0.0.0/0"), entry(100, true, "6", 1024, 65535, "0.0.0.0/0")}
	implicit := []inventory.ACLEntry{
		{Number: 32767, Protocol: "-1", CIDR: "0.0.0.0/0", FromPort: -1, ToPort: -1},
		{Number: 32767, Egress: true, Protocol: "-1", CIDR: "::/0", FromPort: -1, ToPort: -1},
	}
	deny := entry(90, false, "6", 443, 443, "198.51.100.0/24")
	deny.Allow = false
	for _, tc := range []struct {
		name string
		live []inventory.ACLEntry
		want []string
	}{
		{"as declared, with the implicit denies", append(append([]inventory.ACLEntry{}, declared...), implicit...), []string{}},
		{"a deny inserted before the allow", append(append([]inventory.ACLEntry{deny}, declared...), implicit...),
			[]string{"added acl-1 ingress #90 deny tcp 443 from 198.51.100.0/24"}},
		{"renumbered", []inventory.ACLEntry{entry(110, false, "6", 443, 443, "0.0.0.0/0"), declared[1]},
			[]string{"added acl-1 ingress #110 allow tcp 443 from 0.0.0.0/0", "removed acl-1 ingress #100 allow tcp 443 from 0.0.0.0/0"}},
		{"allow turned into deny", []inventory.ACLEntry{{Number: 100, Protocol: "6", CIDR: "0.0.0.0/0", FromPort: 443, ToPort: 443}, declared[1]},
			[]string{"added acl-1 ingress #100 deny tcp 443 from 0.0.0.0/0", "removed acl-1 ingress #100 allow tcp 443 from 0.0.0.0/0"}},
		{"every protocol instead of tcp", []inventory.ACLEntry{declared[0], entry(100, true, "-1", -1, -1, "0.0.0.0/0")},
			[]string{"added acl-1 egress #100 allow all to 0.0.0.0/0", "removed acl-1 egress #100 allow tcp 1024-65535 to 0.0.0.0/0"}},
		{"emptied", nil, []string{"removed acl-1 egress #100 allow tcp 1024-65535 to 0.0.0.0/0", "removed acl-1 ingress #100 allow tcp 443 from 0.0.0.0/0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &inventory.Declaration{NetworkACLs: []inventory.NetworkACL{{ID: "acl-1", Name: "PublicNetworkAcl", Entries: declared}}}
			s := &inventory.Snapshot{NetworkACLs: []inventory.NetworkACL{{ID: "acl-1", Name: "tradai-public-nacl", Entries: tc.live}}}
			if diff := cmp.Diff(short(drift.Compare(d, s).Findings), tc.want); diff != "" {
				t.Errorf("findings (-got +want):\n%s", diff)
			}
		})
	}
}

// TestMissingAndNew: a declared group or ACL the snapshot lacks is reported
// as missing; New keeps only what the previous report did not have.
func TestMissingAndNew(t *testing.T) {
	d := &inventory.Declaration{
		SecurityGroups: []inventory.SecurityGroup{group(rules{tcp(443, 443, "0.0.0.0/0")}, rules{}), {ID: "sg-gone", Name: "RDSSecurityGroup"}},
		NetworkACLs:    []inventory.NetworkACL{{ID: "acl-gone", Name: "DatabaseNetworkAcl"}},
	}
	live := group(rules{tcp(443, 443, "0.0.0.0/0")}, rules{})
	live.Tags = map[string]string{"Name": "tradai-alb-sg"}
	s1 := &inventory.Snapshot{Taken: time.Unix(1, 0), SecurityGroups: []inventory.SecurityGroup{live}}
	r1 := drift.Compare(d, s1)
	if diff := cmp.Diff(short(r1.Findings), []string{"missing acl-gone  ", "missing sg-gone  "}); diff != "" {
		t.Errorf("findings (-got +want):\n%s", diff)
	}
	if got := r1.Findings[1].String(); got != "missing security-group sg-gone (RDSSecurityGroup): declared, not in the snapshot" {
		t.Errorf("String() = %q", got)
	}

	live.Ingress = append(live.Ingress, tcp(22, 22, "0.0.0.0/0"))
	s2 := &inventory.Snapshot{Taken: time.Unix(2, 0), SecurityGroups: []inventory.SecurityGroup{live}}
	r2 := drift.Compare(d, s2)
	added := drift.New(r1, r2)
	if diff := cmp.Diff(short(added), []string{"added sg-1 ingress tcp 22 from 0.0.0.0/0"}); diff != "" {
		t.Errorf("new findings (-got +want):\n%s", diff)
	}
	if got := added[0].String(); got != "added security-group sg-1 (ALBSecurityGroup, tradai-alb-sg) ingress rule tcp 22 from 0.0.0.0/0: outside the code" {
		t.Errorf("String() = %q", got)
	}
	if again := drift.New(r2, drift.Compare(d, s2)); len(again) != 0 {
		t.Errorf("the same drift again is new: %v", short(again))
	}
	if all := drift.New(drift.Report{}, r2); len(all) != len(r2.Findings) {
		t.Errorf("no previous report: %d new, want all %d", len(all), len(r2.Findings))
	}

	if _, err := drift.Of(s2); !errors.Is(err, drift.ErrNoDeclaration) {
		t.Errorf("Of without a declaration: %v, want ErrNoDeclaration", err)
	}
	s2.Declared = d
	if r, err := drift.Of(s2); err != nil || len(r.Findings) != 3 {
		t.Errorf("Of: %v, %d findings, want 3", err, len(r.Findings))
	}
}

func TestAlert(t *testing.T) {
	r := drift.Report{Snapshot: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Declared: "ssm:/flowq/tradai/declared", Findings: []drift.Finding{
		{Change: drift.Added, Kind: drift.KindGroup, ID: "sg-1", Name: "RDSSecurityGroup", Direction: "ingress", Rule: "tcp 22 from 0.0.0.0/0"},
		{Change: drift.Removed, Kind: drift.KindACL, ID: "acl-1", Name: "DatabaseNetworkAcl", Direction: "egress", Rule: "#100 allow tcp 1024-65535 to 10.0.11.0/24"},
	}}
	subject, msg := drift.Alert(r, r.Findings[:1], "tradai")
	if subject != "flowq drift: added security-group rule outside the code (tradai)" {
		t.Errorf("subject %q", subject)
	}
	for _, w := range []string{"ssm:/flowq/tradai/declared", "2026-11-30T12:00:00Z",
		"added security-group sg-1 (RDSSecurityGroup) ingress rule tcp 22 from 0.0.0.0/0", "1 earlier difference(s) remain"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
	subject, _ = drift.Alert(r, r.Findings, strings.Repeat("é", 80))
	if len(subject) > 100 || strings.ContainsFunc(subject, func(r rune) bool { return r > 0x7e }) {
		t.Errorf("subject %q: want at most 100 ASCII characters", subject)
	}
}

// TestUnresolvedIDs: declared ACLs sharing an unresolved ID ("None", as
// moto's CloudFormation renders a skipped resource's Ref) are each missing,
// and each is new drift once.
func TestUnresolvedIDs(t *testing.T) {
	d := &inventory.Declaration{NetworkACLs: []inventory.NetworkACL{{ID: "None", Name: "PublicNetworkAcl"}, {ID: "None", Name: "PrivateNetworkAcl"}}}
	r := drift.Compare(d, &inventory.Snapshot{})
	if len(r.Findings) != 2 || len(drift.New(drift.Report{}, r)) != 2 || len(drift.New(r, r)) != 0 {
		t.Errorf("findings %v, new %d", short(r.Findings), len(drift.New(drift.Report{}, r)))
	}
}
