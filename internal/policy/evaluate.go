package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/flowq/flowq/internal/inventory"
)

// The checks of the source's side, and the destination subnet's network
// ACL on the replies' way out, by name.
const (
	checkSrcSG            = "source security groups, egress"
	checkSrcACLOut        = "source network acl, outbound"
	checkDstACLOutReplies = "destination network acl, outbound replies"
)

// evaluation walks one query's path, appending a step per check.
type evaluation struct {
	x        *inventory.Index
	q        Query
	src, dst end
	srcPort  int
	steps    []Step
	quiet    bool // leave the rule texts out
}

// add records a check; its rule text is only made when the evaluation
// describes (not for Quick).
func (ev *evaluation) add(layer, check, result string, rule func() string) {
	st := Step{Layer: layer, Check: check, Result: result, Reply: strings.Contains(check, "replies")}
	if !ev.quiet {
		st.Rule = rule()
	}
	ev.steps = append(ev.steps, st)
}

// run checks, in the order a packet meets them: the source's security
// groups (egress), the source subnet's network ACL (outbound), its route
// table, a NAT that route sends it to the internet through (natHop), the
// destination subnet's network ACL (inbound), the destination's security
// groups (ingress); then the replies: the route back to an outside client,
// and the network ACLs again in reverse (they are stateless), to the
// client's ephemeral port. Security groups are stateful: replies pass them
// without a rule.
func (ev *evaluation) run() {
	src, dst, q := ev.src, ev.dst, ev.q
	// Network ACLs sit at subnet boundaries: traffic inside one subnet never
	// meets them.
	crossSubnet := src.subnet == nil || dst.subnet == nil || src.subnet.ID != dst.subnet.ID

	ev.securityGroups(checkSrcSG, src, dst, true, q.DstPort)
	if src.subnet != nil && crossSubnet {
		ev.acl(checkSrcACLOut, src.subnet, true, dst.addr, q.DstPort)
	}
	var nat end
	hasNAT := false
	if src.subnet != nil {
		r := ev.route("source route table", src, dst, func() string { return fmt.Sprintf("%s to %s", protoPortOf(q.Protocol, q.DstPort), q.Dst) })
		if r != nil && !dst.inside {
			if nat, hasNAT = natOf(ev.x, r.Target); hasNAT {
				ev.natHop(nat)
			}
		}
	}
	if dst.subnet != nil && crossSubnet {
		ev.acl("destination network acl, inbound", dst.subnet, false, src.addr, q.DstPort)
	}
	ev.securityGroups("destination security groups, ingress", dst, src, false, q.DstPort)

	// Replies.
	if src.subnet == nil && dst.subnet != nil {
		ev.route("destination route table, replies", dst, src, func() string { return fmt.Sprintf("replies to %s", q.Src) })
	}
	if dst.subnet != nil && crossSubnet {
		ev.acl(checkDstACLOutReplies, dst.subnet, true, src.addr, ev.srcPort)
	}
	if hasNAT {
		ev.natReplies(nat)
	}
	if src.subnet != nil && crossSubnet {
		ev.acl("source network acl, inbound replies", src.subnet, false, dst.addr, ev.srcPort)
	}
}

// securityGroups checks the groups of `self` for a rule admitting `peer`.
func (ev *evaluation) securityGroups(check string, self, peer end, egress bool, port int) {
	if self.subnet == nil {
		return // outside the VPC: not ours to check
	}
	x := ev.x
	switch {
	case self.iface == nil:
		ev.add(LayerSG, check, Skip, func() string { return fmt.Sprintf("no interface with address %s in the inventory", self.addr) })
		return
	case len(self.groups) == 0:
		ev.add(LayerSG, check, Skip, func() string { return fmt.Sprintf("%s (%s) has no security groups", self.iface.ID, self.iface.Type) })
		return
	}
	// A group reference admits the private addresses of the group's
	// members: not a flow to or from a public address, which leaves the
	// VPC and comes back translated.
	p := sgPeer{addr: peer.addr}
	if self.inside && peer.inside {
		p.groups = peer.groups
	}
	p.foreign = self.inside && peer.iface == nil && !peer.inside && privateRange(peer.addr)
	g, r, unsure := sgMatch(x, self.groups, egress, p, ev.q.Protocol, port)
	if r != nil {
		ev.add(LayerSG, check, Allow, func() string { return describeSGRule(x, g, r, egress) })
		return
	}
	dir, word := "ingress", "from"
	if egress {
		dir, word = "egress", "to"
	}
	if unsure {
		ev.add(LayerSG, check, Skip, func() string {
			return fmt.Sprintf("%s %s: a rule for %s names a group or prefix list not in the inventory; no other rule allows it %s %s",
				groupNames(x, self.groups), dir, protoPortOf(ev.q.Protocol, port), word, peer.addr)
		})
		return
	}
	// A group the snapshot lacks (created after the sync read the groups)
	// may hold the rule: not held against the flow.
	if missing := missingGroups(x, self.groups); len(missing) > 0 {
		ev.add(LayerSG, check, Skip, func() string {
			return fmt.Sprintf("%s not in the inventory; no rule of %s %s allows %s %s %s", strings.Join(missing, ", "), groupNames(x, self.groups), dir, protoPortOf(ev.q.Protocol, port), word, peer.addr)
		})
		return
	}
	ev.add(LayerSG, check, Deny, func() string {
		return fmt.Sprintf("%s %s: no rule allows %s %s %s", groupNames(x, self.groups), dir, protoPortOf(ev.q.Protocol, port), word, peer.addr)
	})
}

func (ev *evaluation) acl(check string, sub *inventory.Subnet, egress bool, peer netip.Addr, port int) {
	acl := ev.x.NetworkACL(sub)
	if acl == nil {
		ev.add(LayerACL, check, Skip, func() string { return fmt.Sprintf("no network acl for %s in the inventory", sub.ID) })
		return
	}
	e, ok := aclDecision(ev.x, acl, egress, peer, ev.q.Protocol, port)
	result := Deny
	if ok && e.Allow {
		result = Allow
	}
	ev.add(LayerACL, check, result, func() string { return describeACLEntry(acl, e) })
}

// route checks that self's subnet routes traffic to peer; it returns the
// route when it allows.
func (ev *evaluation) route(check string, self, peer end, what func() string) *inventory.Route {
	x := ev.x
	rt := x.RouteTable(self.subnet)
	if rt == nil {
		ev.add(LayerRoute, check, Skip, func() string { return fmt.Sprintf("no route table for %s in the inventory", self.subnet.ID) })
		return nil
	}
	r := route(x, rt, peer.addr)
	if r == nil {
		table := named(rt.ID, rt.Name)
		ev.add(LayerRoute, check, Deny, func() string { return fmt.Sprintf("%s: no route for %s", table, what()) })
		return nil
	}
	dest := r.Destination
	if dest == "" {
		dest = r.PrefixList
	}
	rule := func() string { return fmt.Sprintf("%s %s -> %s", named(rt.ID, rt.Name), dest, r.Target) }
	switch {
	case r.State == "blackhole":
		ev.add(LayerRoute, check, Deny, func() string { return rule() + " (blackhole)" })
	case peer.inside && r.Target != "local" && sameVPC(self, peer):
		ev.add(LayerRoute, check, Deny, func() string { return rule() + " (not the local route)" })
	case strings.HasPrefix(r.Target, "igw-") && !peer.inside && self.iface != nil && self.addr.Is4() && len(self.iface.PublicIPs) == 0:
		ev.add(LayerRoute, check, Deny, func() string { return fmt.Sprintf("%s: %s has no public address", rule(), self.addr) })
	default:
		ev.add(LayerRoute, check, Allow, rule)
		return r
	}
	return nil
}

// sameVPC reports whether both ends are in the same VPC.
func sameVPC(a, b end) bool {
	return a.subnet != nil && b.subnet != nil && a.subnet.VPCID == b.subnet.VPCID
}

// protoPortOf spells a flow's protocol and port: "tcp/5432", "icmp".
func protoPortOf(proto, port int) string {
	if proto == 6 || proto == 17 {
		return fmt.Sprintf("%s/%d", ProtocolName(proto), port)
	}
	return ProtocolName(proto)
}
