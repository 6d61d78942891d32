package policy

import "github.com/flowq/flowq/internal/inventory"

// PortCell returns the client ports lo..hi, q.SrcPort among them, that
// every rule a judgement of q reads treats alike: the ports where the
// security-group rules of both ends and the network-ACL entries of both
// ends' subnets start and stop applying cut the range 0-65535, as do the
// extra cuts (a port p starts a new cell at p). The checks of q's request,
// of its replies (to the client's port) and of the reverse connection
// (from q's destination to the client's port) give the same results for
// every client port of the cell, so a verdict on q that reads nothing else
// of the client's port holds for the whole cell. For protocols without
// ports only the cuts apply.
//
// Judging a flow-log record exactly costs tens of microseconds and each
// record of a busy flow has a client port of its own; the cell lets one
// judgement answer them all.
func PortCell(x *inventory.Index, q Query, cuts ...int) (lo, hi int) {
	sp := q.SrcPort
	lo, hi = 0, 65535
	cut := func(p int) { // p starts a cell
		switch {
		case p <= sp:
			lo = max(lo, p)
		case p <= hi:
			hi = p - 1
		}
	}
	for _, p := range cuts {
		cut(p)
	}
	if q.Protocol != 6 && q.Protocol != 17 {
		return lo, hi
	}
	rangeCuts := func(from, to int) {
		if from < 0 && to < 0 {
			return // every port
		}
		if to < 0 {
			to = from
		}
		cut(from)
		cut(to + 1)
	}
	for _, a := range []Query{{Src: q.Src}, {Src: q.Dst}} {
		e, _ := locate(x, a.Src)
		for _, id := range e.groups {
			g := x.SecurityGroup(id)
			if g == nil {
				continue
			}
			for _, rules := range [][]inventory.SGRule{g.Ingress, g.Egress} {
				for _, r := range rules {
					if protoMatches(r.Protocol, q.Protocol) {
						rangeCuts(r.FromPort, r.ToPort)
					}
				}
			}
		}
		if e.subnet == nil {
			continue
		}
		if acl := x.NetworkACL(e.subnet); acl != nil {
			for _, egress := range []bool{false, true} {
				for _, r := range x.ACLRules(acl, egress) {
					if r.Proto == q.Protocol { // entries of all protocols take every port
						rangeCuts(r.FromPort, r.ToPort)
					}
				}
			}
		}
	}
	return lo, hi
}
