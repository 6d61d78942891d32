// Package drift compares the rules a deployment declares with the live rules
// of an inventory snapshot: security-group rules and network-ACL entries
// added outside the code, removed outside the code, and declared groups or
// ACLs that no longer exist. Rules are compared normalised (protocol names
// and numbers, -1 and "all", port ranges, canonical CIDRs, IPv6, group
// references with or without an account, prefix lists); descriptions do not
// count. It is plain data in and out: no I/O, no clock.
package drift

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// Changes a finding reports.
const (
	Added   = "added"   // live, not declared: a rule added outside the code
	Removed = "removed" // declared, not live: a rule removed outside the code
	Missing = "missing" // a declared group or ACL the snapshot lacks
)

// Kinds of resources.
const (
	KindGroup = "security-group"
	KindACL   = "network-acl"
)

// ErrNoDeclaration is returned for a snapshot taken without declared rules.
var ErrNoDeclaration = errors.New("the snapshot holds no declared rules (flowq inventory sync stores them when the deployment publishes them under /flowq/<app>/declared)")

// Finding is one difference between the declared and the live rules.
type Finding struct {
	Change    string `json:"change"` // added, removed, missing
	Kind      string `json:"kind"`   // security-group, network-acl
	ID        string `json:"id"`     // sg-…, acl-…
	Name      string `json:"name"`   // as declared (the CDK app's logical ID)
	LiveName  string `json:"live_name,omitempty"`
	Direction string `json:"direction,omitempty"` // ingress, egress
	Rule      string `json:"rule,omitempty"`      // the rule in words: "tcp 443 from 0.0.0.0/0"

	SGRule   *inventory.SGRule   `json:"sg_rule,omitempty"`
	ACLEntry *inventory.ACLEntry `json:"acl_entry,omitempty"`
}

// Key identifies a finding across snapshots (for "is this drift new").
func (f Finding) Key() string {
	return strings.Join([]string{f.Change, f.Kind, f.ID, f.Name, f.Direction, f.Rule}, "|")
}

// String is the finding in one line.
func (f Finding) String() string {
	who := f.ID
	if f.Name != "" || f.LiveName != "" {
		who += " (" + strings.Trim(f.Name+", "+f.LiveName, ", ") + ")"
	}
	if f.Change == Missing {
		return fmt.Sprintf("missing %s %s: declared, not in the snapshot", f.Kind, who)
	}
	return fmt.Sprintf("%s %s %s %s rule %s: outside the code", f.Change, f.Kind, who, f.Direction, f.Rule)
}

// Report is the drift of one snapshot.
type Report struct {
	Snapshot time.Time `json:"snapshot"` // when the live rules were read
	Declared string    `json:"declared"` // where the declaration was read
	Groups   int       `json:"security_groups"`
	ACLs     int       `json:"network_acls"`
	Findings []Finding `json:"findings"`
}

// Drifted reports whether any rule differs.
func (r Report) Drifted() bool { return len(r.Findings) > 0 }

// Of compares the snapshot's live rules with the declaration stored in it.
func Of(s *inventory.Snapshot) (Report, error) {
	if s.Declared == nil {
		return Report{Snapshot: s.Taken}, ErrNoDeclaration
	}
	return Compare(s.Declared, s), nil
}

// Compare reports how the live rules of the declared groups and ACLs in s
// differ from d. Groups and ACLs that d does not declare are not looked at
// (EC2's default group, groups other tools create).
func Compare(d *inventory.Declaration, s *inventory.Snapshot) Report {
	r := Report{Snapshot: s.Taken, Declared: d.Source, Groups: len(d.SecurityGroups), ACLs: len(d.NetworkACLs), Findings: []Finding{}}
	liveGroups := map[string]*inventory.SecurityGroup{}
	for i := range s.SecurityGroups {
		liveGroups[s.SecurityGroups[i].ID] = &s.SecurityGroups[i]
	}
	liveACLs := map[string]*inventory.NetworkACL{}
	for i := range s.NetworkACLs {
		liveACLs[s.NetworkACLs[i].ID] = &s.NetworkACLs[i]
	}
	for _, dg := range d.SecurityGroups {
		base := Finding{Kind: KindGroup, ID: dg.ID, Name: dg.Name}
		lg, ok := liveGroups[dg.ID]
		if !ok {
			f := base
			f.Change = Missing
			r.Findings = append(r.Findings, f)
			continue
		}
		base.LiveName = lg.Tags["Name"]
		if base.LiveName == "" {
			base.LiveName = lg.Name
		}
		r.Findings = append(r.Findings, diffRules(base, "ingress", dg.Ingress, lg.Ingress)...)
		r.Findings = append(r.Findings, diffRules(base, "egress", dg.Egress, lg.Egress)...)
	}
	for _, da := range d.NetworkACLs {
		base := Finding{Kind: KindACL, ID: da.ID, Name: da.Name}
		la, ok := liveACLs[da.ID]
		if !ok {
			f := base
			f.Change = Missing
			r.Findings = append(r.Findings, f)
			continue
		}
		base.LiveName = la.Name
		r.Findings = append(r.Findings, diffEntries(base, da.Entries, la.Entries)...)
	}
	Sort(r.Findings)
	return r
}

// New returns the findings of cur that prev does not have: drift to alert on
// (prev is the report of the snapshot before; a zero Report: all of cur).
func New(prev, cur Report) []Finding {
	seen := map[string]bool{}
	for _, f := range prev.Findings {
		seen[f.Key()] = true
	}
	var out []Finding
	for _, f := range cur.Findings {
		if !seen[f.Key()] {
			out = append(out, f)
		}
	}
	return out
}

// diffRules matches rules as multisets of their normal forms.
func diffRules(base Finding, dir string, declared, live []inventory.SGRule) []Finding {
	keys := make([]string, len(declared))
	count := make(map[string]int, len(declared))
	for i, r := range declared {
		keys[i] = sgKey(r, dir)
		count[keys[i]]++
	}
	var out []Finding
	for _, r := range live {
		k := sgKey(r, dir)
		if count[k] > 0 {
			count[k]--
			continue
		}
		f := base
		f.Change, f.Direction, f.Rule, f.SGRule = Added, dir, k, &r
		out = append(out, f)
	}
	for i, r := range declared {
		if k := keys[i]; count[k] > 0 {
			count[k]--
			f := base
			f.Change, f.Direction, f.Rule, f.SGRule = Removed, dir, k, &r
			out = append(out, f)
		}
	}
	return out
}

func diffEntries(base Finding, declared, live []inventory.ACLEntry) []Finding {
	keys := make([]string, len(declared))
	count := make(map[string]int, len(declared))
	for i, e := range declared {
		keys[i] = aclKey(e)
		count[keys[i]]++
	}
	var out []Finding
	for _, e := range live {
		if e.Number >= 32767 { // the implicit "*" deny entries (IPv4 and IPv6)
			continue
		}
		k := aclKey(e)
		if count[k] > 0 {
			count[k]--
			continue
		}
		f := base
		f.Change, f.Direction, f.Rule, f.ACLEntry = Added, direction(e.Egress), k, &e
		out = append(out, f)
	}
	for i, e := range declared {
		if k := keys[i]; count[k] > 0 {
			count[k]--
			f := base
			f.Change, f.Direction, f.Rule, f.ACLEntry = Removed, direction(e.Egress), k, &e
			out = append(out, f)
		}
	}
	return out
}

func direction(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}

// sgKey is a rule's normal form in words: "tcp 443 from 0.0.0.0/0",
// "all to sg-0abc", "icmp type 8 code -1 from ::/0".
func sgKey(r inventory.SGRule, dir string) string {
	peer := ""
	switch {
	case r.Group != "":
		peer = r.Group[strings.LastIndex(r.Group, "/")+1:] // account/sg-… names the same group
	case r.PrefixList != "":
		peer = r.PrefixList
	default:
		peer = canonicalCIDR(r.CIDR)
	}
	prep := "from"
	if dir == "egress" {
		prep = "to"
	}
	return protoPorts(r.Protocol, r.FromPort, r.ToPort) + " " + prep + " " + peer
}

// aclKey is an entry's normal form in words: "#100 allow tcp 443 from 0.0.0.0/0".
func aclKey(e inventory.ACLEntry) string {
	action := "deny"
	if e.Allow {
		action = "allow"
	}
	prep := "from"
	if e.Egress {
		prep = "to"
	}
	return "#" + strconv.Itoa(e.Number) + " " + action + " " + protoPorts(e.Protocol, e.FromPort, e.ToPort) + " " + prep + " " + canonicalCIDR(e.CIDR)
}

// protoPorts renders a protocol and its ports in one normal form: "all" for
// every protocol (ports do not apply); tcp and udp with a port or range (no
// ports: every port); icmp and icmpv6 with type and code; other protocols
// by number, without ports.
func protoPorts(proto string, from, to int) string {
	n, ok := inventory.ProtocolNumber(strings.ToLower(proto))
	if !ok {
		return "protocol " + proto
	}
	switch n {
	case -1:
		return "all"
	case 6, 17:
		name := map[int]string{6: "tcp", 17: "udp"}[n]
		if from < 0 && to < 0 || from == 0 && to == 65535 {
			return name + " all ports"
		}
		if from == to {
			return name + " " + strconv.Itoa(from)
		}
		return name + " " + strconv.Itoa(from) + "-" + strconv.Itoa(to)
	case 1, 58:
		name := map[int]string{1: "icmp", 58: "icmpv6"}[n]
		if from < 0 {
			return name + " all"
		}
		return name + " type " + strconv.Itoa(from) + " code " + strconv.Itoa(to)
	}
	return "protocol " + strconv.Itoa(n)
}

// canonicalCIDR is a prefix's canonical form (masked, IPv6 compressed and
// lower case); a bare address is a /32 or /128; anything else stays as given.
func canonicalCIDR(s string) string {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()).String()
	}
	return s
}

// Sort orders findings by resource, direction, change and rule, for output
// that does not depend on the order EC2 returned rules in.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return strings.Compare(a.Kind+a.ID+a.Name+a.Direction+a.Change+a.Rule, b.Kind+b.ID+b.Name+b.Direction+b.Change+b.Rule)
	})
}
