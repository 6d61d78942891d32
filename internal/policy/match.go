package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/flowq/flowq/internal/inventory"
)

// portMatches reports whether a rule's port range admits port for proto.
// Rules without ports (-1), and protocols without ports, match any.
func portMatches(proto, from, to, port int) bool {
	if proto != 6 && proto != 17 {
		return true
	}
	if from < 0 && to < 0 {
		return true
	}
	if to < 0 {
		to = from
	}
	return port >= from && port <= to
}

// protoMatches reports whether a rule's protocol ("-1", "tcp", "6", ...)
// covers proto. ICMP rules match every type and code.
func protoMatches(rule string, proto int) bool {
	n, ok := inventory.ProtocolNumber(rule)
	return ok && (n == -1 || n == proto)
}

// cidrContains reports whether CIDR s holds addr (false for a malformed
// CIDR or the other address family).
func cidrContains(x *inventory.Index, s string, addr netip.Addr) bool {
	p, ok := x.Prefix(s)
	return ok && p.Contains(addr)
}

// inPrefixList reports whether prefix list id holds addr.
func inPrefixList(x *inventory.Index, id string, addr netip.Addr) bool {
	pl := x.PrefixList(id)
	if pl == nil {
		return false
	}
	for _, c := range pl.CIDRs {
		if cidrContains(x, c, addr) {
			return true
		}
	}
	return false
}

// aclDecision is the first entry of a network ACL, in rule-number order,
// that matches a packet in one direction.
func aclDecision(x *inventory.Index, acl *inventory.NetworkACL, egress bool, peer netip.Addr, proto, port int) (inventory.ACLEntry, bool) {
	for _, e := range x.ACLRules(acl, egress) {
		if !e.Valid || (e.Proto != -1 && e.Proto != proto) || !e.Prefix.Contains(peer) {
			continue
		}
		if e.Proto == -1 || portMatches(proto, e.FromPort, e.ToPort, port) {
			return e.ACLEntry, true
		}
	}
	// Every ACL ends in the implicit "*" deny.
	return inventory.ACLEntry{Number: 32767, Egress: egress, Protocol: "-1", CIDR: "*", FromPort: -1, ToPort: -1}, false
}

// describeACLEntry is the rule text of an ACL entry.
func describeACLEntry(acl *inventory.NetworkACL, e inventory.ACLEntry) string {
	dir, peerWord := "ingress", "from"
	if e.Egress {
		dir, peerWord = "egress", "to"
	}
	num := strconv.Itoa(e.Number)
	if e.Number == 32767 {
		num = "*"
	}
	action := "deny"
	if e.Allow {
		action = "allow"
	}
	peer := e.CIDR
	if peer == "*" {
		peer = "anywhere"
	}
	return fmt.Sprintf("%s %s rule %s %s %s %s %s", named(acl.ID, acl.Name), dir, num, action, protoPorts(e.Protocol, e.FromPort, e.ToPort), peerWord, peer)
}

// protoPorts spells a protocol and port range: "tcp 5432", "tcp 1024-65535",
// "all".
func protoPorts(proto string, from, to int) string {
	n, ok := inventory.ProtocolNumber(proto)
	if !ok {
		return proto
	}
	name := ProtocolName(n)
	if n == -1 {
		return name
	}
	if (n != 6 && n != 17) || (from < 0 && to < 0) {
		return name
	}
	if from == to || to < 0 {
		return fmt.Sprintf("%s %d", name, from)
	}
	if from == 0 && to == 65535 {
		return name + " all ports"
	}
	return fmt.Sprintf("%s %d-%d", name, from, to)
}

// ProtocolName is the short name of an IANA protocol number ("all" for -1).
func ProtocolName(n int) string {
	switch n {
	case -1:
		return "all"
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmpv6"
	}
	return "proto " + strconv.Itoa(n)
}

func named(id, name string) string {
	if name == "" || name == id {
		return id
	}
	return id + " (" + name + ")"
}

// sgPeer is the far end of a security-group check: its address and, when it
// is an interface of the inventory, its groups.
type sgPeer struct {
	addr   netip.Addr
	groups []string
	// foreign: the peer is no interface of the snapshot but may be one of
	// a group it lacks (a peered VPC's, referenced by the rules): a private
	// address reached by its private address.
	foreign bool
}

// sgMatch returns the first rule of the groups that admits the peer; when
// none does, unsure reports a rule of the flow's protocol and port whose
// peer the snapshot cannot tell: a prefix list it lacks, or a group it
// lacks while the peer is foreign.
func sgMatch(x *inventory.Index, groups []string, egress bool, peer sgPeer, proto, port int) (g *inventory.SecurityGroup, r *inventory.SGRule, unsure bool) {
	for _, id := range groups {
		if g = x.SecurityGroup(id); g == nil {
			continue
		}
		rules := g.Ingress
		if egress {
			rules = g.Egress
		}
		for i := range rules {
			r = &rules[i]
			if !protoMatches(r.Protocol, proto) {
				continue
			}
			n, _ := inventory.ProtocolNumber(r.Protocol)
			if n != -1 && !portMatches(proto, r.FromPort, r.ToPort, port) {
				continue
			}
			if sgPeerMatches(x, r, peer) {
				return g, r, false
			}
			unsure = unsure || r.PrefixList != "" && x.PrefixList(r.PrefixList) == nil ||
				r.Group != "" && peer.foreign && x.SecurityGroup(r.Group) == nil
		}
	}
	return nil, nil, unsure
}

// sharedSpace is RFC 6598's range, which VPCs may use as a private one.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// privateRange reports whether addr is in a range VPCs number their
// interfaces from: RFC 1918, RFC 6598 and unique local IPv6.
func privateRange(addr netip.Addr) bool { return addr.IsPrivate() || sharedSpace.Contains(addr) }

func sgPeerMatches(x *inventory.Index, r *inventory.SGRule, peer sgPeer) bool {
	switch {
	case r.CIDR != "":
		return cidrContains(x, r.CIDR, peer.addr)
	case r.Group != "":
		return slices.Contains(peer.groups, r.Group)
	case r.PrefixList != "":
		return inPrefixList(x, r.PrefixList, peer.addr)
	}
	return false
}

// describeSGRule is the rule text of a security-group rule.
func describeSGRule(x *inventory.Index, g *inventory.SecurityGroup, r *inventory.SGRule, egress bool) string {
	dir, peerWord := "ingress", "from"
	if egress {
		dir, peerWord = "egress", "to"
	}
	var peer string
	switch {
	case r.CIDR != "":
		peer = r.CIDR
	case r.Group != "":
		name := ""
		if pg := x.SecurityGroup(r.Group); pg != nil {
			name = pg.Name
		}
		peer = named(r.Group, name)
	case r.PrefixList != "":
		name := ""
		if pl := x.PrefixList(r.PrefixList); pl != nil {
			name = pl.Name
		}
		peer = named(r.PrefixList, name)
	}
	return fmt.Sprintf("%s %s %s %s %s", named(g.ID, g.Name), dir, protoPorts(r.Protocol, r.FromPort, r.ToPort), peerWord, peer)
}

// missingGroups returns the groups of ids the snapshot does not hold.
func missingGroups(x *inventory.Index, ids []string) []string {
	var out []string
	for _, id := range ids {
		if x.SecurityGroup(id) == nil {
			out = append(out, id)
		}
	}
	return out
}

// groupNames spells a list of groups with their names.
func groupNames(x *inventory.Index, ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		name := ""
		if g := x.SecurityGroup(id); g != nil {
			name = g.Name
		}
		s += named(id, name)
	}
	return s
}

// route is the most specific route of a table for addr: the longest
// matching CIDR, a prefix-list route counting with its matching entry's
// length — nil when none matches.
func route(x *inventory.Index, rt *inventory.RouteTable, addr netip.Addr) *inventory.Route {
	var best *inventory.Route
	bestBits := -1
	for i := range rt.Routes {
		r := &rt.Routes[i]
		bits := -1
		switch {
		case r.Destination != "":
			if p, ok := x.Prefix(r.Destination); ok && p.Contains(addr) {
				bits = p.Bits()
			}
		case r.PrefixList != "":
			if pl := x.PrefixList(r.PrefixList); pl != nil {
				for _, c := range pl.CIDRs {
					if p, ok := x.Prefix(c); ok && p.Contains(addr) {
						bits = max(bits, p.Bits())
					}
				}
			}
		}
		if bits > bestBits {
			best, bestBits = r, bits
		}
	}
	return best
}
