package policy

import "github.com/flowq/flowq/internal/inventory"

// RecordVerdict is the judgement of one flow-log record's packets.
type RecordVerdict struct {
	Allowed bool
	// Reply: the record is the reply of a connection the rules allow
	// (security groups are stateful).
	Reply bool
	// Result is the evaluation that decided: of the record as a request, or
	// of the reverse connection when Reply. When not Allowed, its Layer and
	// Rule are those of the first check that stops the record's packets.
	Result Result
}

// Record judges the packets a flow-log record counted. Flow logs log a
// request and its reply as two records, so the record is judged first as a
// request (src to dst:dstport), where only the checks on the request's own
// path count (its replies are other records), then as the reply of the
// reverse connection (dst to src:srcport), where the connection must be
// allowed and the replies' path must let the record's packets through.
// Records of protocols without ports (icmp: flow logs give it ports 0 and
// 0) cannot say which way their connection went, and security groups track
// every protocol, so they are read as replies too. Record does not know
// which interface logged the record: a record from the VPC to an address
// outside it (or to an interface's public address: an interface logs its
// private one) is the source interface's, judged as RecordOn judges it;
// others are judged as the destination's interface saw them, at the end
// of their path.
func Record(x *inventory.Index, q Query) (RecordVerdict, error) {
	return record(x, q, loggedAtSource(x, q))
}

// loggedAtSource reports whether only the source's interface can have
// logged a record of q: the source is in a subnet and the destination is
// not an address of one.
func loggedAtSource(x *inventory.Index, q Query) bool {
	src, _ := locate(x, q.Src)
	dst, _ := locate(x, q.Dst)
	return src.inside && !dst.inside
}

// RecordOn judges a record as the interface that logged it (eni) saw it. An
// interface logs its packets as they pass or fail the checks up to it, so
// a record of the source's interface (the source's security groups and its
// subnet's network ACL allowed it; the destination's checks come after it,
// and the destination's interface logs their REJECT) says nothing of the
// checks beyond: an ACCEPTed attempt the destination's group refuses is no
// contradiction there. On the source's interface a request has passed the
// source's security groups and its subnet's network ACL outbound; a reply
// the reverse connection's request path and the same ACL outbound. Any
// other eni ("" too) is judged as Record judges.
func RecordOn(x *inventory.Index, q Query, eni string) (RecordVerdict, error) {
	ifc := x.InterfaceByAddr(q.Src)
	if eni == "" || ifc == nil || ifc.ID != eni {
		return Record(x, q)
	}
	return record(x, q, true)
}

func record(x *inventory.Index, q Query, atSource bool) (RecordVerdict, error) {
	fwd, err := Evaluate(x, q)
	if err != nil {
		return RecordVerdict{}, err
	}
	stop := firstDeny(fwd.Steps, func(s Step) bool { return requestStep(s) && (!atSource || sourceStep(s)) })
	if stop == nil {
		return RecordVerdict{Allowed: true, Result: fwd}, nil
	}
	if q.SrcPort != 0 || !HasPorts(q.Protocol) {
		rev, err := Evaluate(x, Query{Src: q.Dst, Dst: q.Src, DstPort: q.SrcPort, SrcPort: q.DstPort, Protocol: q.Protocol})
		// On the source's interface (the reverse connection's destination)
		// the reply has passed the connection's request path and its
		// first check, the source subnet's network ACL outbound.
		replyPassed := func(s Step) bool { return !atSource || requestStep(s) || s.Check == checkDstACLOutReplies }
		if err == nil && firstDeny(rev.Steps, replyPassed) == nil {
			return RecordVerdict{Allowed: true, Reply: true, Result: rev}, nil
		}
	}
	fwd.Verdict, fwd.Layer, fwd.Rule = Deny, stop.Layer, stop.Rule
	return RecordVerdict{Result: fwd}, nil
}

// firstDeny returns the first denying step that counts, or nil.
func firstDeny(steps []Step, counts func(Step) bool) *Step {
	for i := range steps {
		if steps[i].Result == Deny && counts(steps[i]) {
			return &steps[i]
		}
	}
	return nil
}

// requestStep reports whether a step checks a request on its own path as a
// record of it attests: not its replies (other records), and not a NAT's
// checks (a record of a flow to the internet is its source interface's,
// logged before the NAT; the NAT's own records stand for the hosts behind
// it and are not judged).
func requestStep(s Step) bool { return !s.Reply && !isNATStep(s) }

// sourceStep reports whether a step is one of the source's own: its
// security groups' egress and its subnet's network ACL outbound.
func sourceStep(s Step) bool { return s.Check == checkSrcSG || s.Check == checkSrcACLOut }

// HasPorts reports whether a protocol's packets carry ports (tcp, udp): flow
// logs give others ports 0 and 0, and their records cannot say which way
// their connection went.
func HasPorts(proto int) bool { return proto == 6 || proto == 17 }
