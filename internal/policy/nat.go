package policy

import (
	"net/netip"
	"strings"

	"github.com/flowq/flowq/internal/inventory"
)

// natOf returns the NAT a route's target names, a NAT instance's (or any
// instance's) interface or a NAT gateway, as an end in its subnet; false
// when the target is neither or the snapshot does not know the NAT's
// subnet.
func natOf(x *inventory.Index, target string) (end, bool) {
	var ifc *inventory.Interface
	subnetID := ""
	switch {
	case strings.HasPrefix(target, "eni-"):
		if ifc = x.Interface(target); ifc != nil {
			subnetID = ifc.SubnetID
		}
	case strings.HasPrefix(target, "nat-"):
		for i := range x.Snap.NATGateways {
			if g := &x.Snap.NATGateways[i]; g.ID == target {
				subnetID = g.SubnetID
				if len(g.ENIs) > 0 {
					ifc = x.Interface(g.ENIs[0])
				}
				break
			}
		}
	}
	sub := x.Subnet(subnetID)
	if sub == nil {
		return end{}, false
	}
	e := end{iface: ifc, subnet: sub, inside: true}
	if ifc != nil {
		e.groups = ifc.SecurityGroups
		if len(ifc.PrivateIPs) > 0 {
			e.addr, _ = netip.ParseAddr(ifc.PrivateIPs[0])
		}
	}
	return e, true
}

// natCheck starts the check names of a NAT's steps.
const natCheck = "nat "

// isNATStep reports whether a step is a check at a NAT on the way.
func isNATStep(s Step) bool { return strings.HasPrefix(s.Check, natCheck) }

// natHop checks a request's way through the NAT its source's route sends
// it to: into the NAT's subnet (its network ACL, inbound, unless the source
// is in that subnet), through a NAT instance's security groups (ingress
// from the source, egress to the destination; a NAT gateway has none),
// out of the subnet (its network ACL, outbound) and on by the subnet's
// route table.
func (ev *evaluation) natHop(nat end) {
	src, dst, q := ev.src, ev.dst, ev.q
	if nat.subnet != src.subnet {
		ev.acl(natCheck+"network acl, inbound", nat.subnet, false, src.addr, q.DstPort)
	}
	if nat.iface != nil && len(nat.groups) > 0 {
		ev.securityGroups(natCheck+"security groups, ingress", nat, src, false, q.DstPort)
		ev.securityGroups(natCheck+"security groups, egress", nat, dst, true, q.DstPort)
	}
	ev.acl(natCheck+"network acl, outbound", nat.subnet, true, dst.addr, q.DstPort)
	ev.route(natCheck+"route table", nat, dst, func() string { return "the nat's traffic to " + q.Dst.String() })
}

// natReplies checks the replies' way back through the NAT: into its
// subnet from the destination, to the NAT's port (taken as the client's),
// and out of it to the source.
func (ev *evaluation) natReplies(nat end) {
	ev.acl(natCheck+"network acl, inbound replies", nat.subnet, false, ev.dst.addr, ev.srcPort)
	if nat.subnet != ev.src.subnet {
		ev.acl(natCheck+"network acl, outbound replies", nat.subnet, true, ev.src.addr, ev.srcPort)
	}
}

// natOnPath returns the NAT that a's route table sends traffic to b
// through, b being outside the VPC, whatever the other checks say.
func natOnPath(x *inventory.Index, a, b end) (end, bool) {
	if a.subnet == nil || b.inside {
		return end{}, false
	}
	rt := x.RouteTable(a.subnet)
	if rt == nil {
		return end{}, false
	}
	r := route(x, rt, b.addr)
	if r == nil {
		return end{}, false
	}
	return natOf(x, r.Target)
}
