package policy

import "github.com/flowq/flowq/internal/inventory"

// PortBox returns the source ports slo..shi and the destination ports
// dlo..dhi, q's own among them, that every rule a judgement of q reads
// treats alike: the ports where the security-group rules of both ends and
// the network-ACL entries of both ends' subnets start and stop applying cut
// the range 0-65535 (and so does 1: port 0 is "none"). The checks of q's
// request, of its replies (to the source port) and of the reverse
// connection (from q's destination port to its source port) give the same
// results for every pair of ports of the box. With order, the box also
// keeps the ports' order: every source port of it is below every
// destination port, or none is (a record is read as a reply only from the
// lower port). For protocols without ports only the cut at 1 applies.
//
// Judging a flow-log record exactly costs tens of microseconds, and each
// record of a busy flow has a client port of its own: the client's source
// port in a request, its destination port in the reply. The box lets one
// judgement answer them all.
func PortBox(x *inventory.Index, q Query, order bool) (slo, shi, dlo, dhi int) {
	cuts := []int{1}
	if q.Protocol == 6 || q.Protocol == 17 {
		cuts = appendCuts(x, q, cuts)
	}
	slo, shi = cell(cuts, q.SrcPort)
	dlo, dhi = cell(cuts, q.DstPort)
	if order {
		if q.SrcPort < q.DstPort {
			shi = min(shi, q.DstPort-1)
			dlo = max(dlo, shi+1)
		} else {
			dhi = min(dhi, q.SrcPort)
			slo = max(slo, dhi)
		}
	}
	return slo, shi, dlo, dhi
}

// cell returns the ports around p that no cut separates (a cut c starts a
// cell at c).
func cell(cuts []int, p int) (lo, hi int) {
	lo, hi = 0, 65535
	for _, c := range cuts {
		switch {
		case c <= p:
			lo = max(lo, c)
		case c <= hi:
			hi = c - 1
		}
	}
	return lo, hi
}

// appendCuts appends the first port of each rule of q's protocol that the
// security groups and subnets' network ACLs of the ends, and of a NAT on the
// way between them either way, hold, and the port after its last.
func appendCuts(x *inventory.Index, q Query, cuts []int) []int {
	rangeCuts := func(from, to int) {
		if from < 0 && to < 0 {
			return // every port
		}
		if to < 0 {
			to = from
		}
		cuts = append(cuts, from, to+1)
	}
	src, _ := locate(x, q.Src)
	dst, _ := locate(x, q.Dst)
	ends := append(make([]end, 0, 4), src, dst)
	for _, p := range [2][2]end{{src, dst}, {dst, src}} {
		if nat, ok := natOnPath(x, p[0], p[1]); ok {
			ends = append(ends, nat)
		}
	}
	for _, e := range ends {
		for _, id := range e.groups {
			g := x.SecurityGroup(id)
			if g == nil {
				continue
			}
			for _, rules := range [][]inventory.SGRule{g.Ingress, g.Egress} {
				for _, r := range rules {
					if n, _ := inventory.ProtocolNumber(r.Protocol); n != -1 && protoMatches(r.Protocol, q.Protocol) {
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
					if r.Proto == q.Protocol { // entries of every protocol take every port
						rangeCuts(r.FromPort, r.ToPort)
					}
				}
			}
		}
	}
	return cuts
}
