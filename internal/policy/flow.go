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
// every protocol, so they are read as replies too.
func Record(x *inventory.Index, q Query) (RecordVerdict, error) {
	fwd, err := Evaluate(x, q)
	if err != nil {
		return RecordVerdict{}, err
	}
	stop := firstDeny(fwd.Steps, false)
	if stop == nil {
		return RecordVerdict{Allowed: true, Result: fwd}, nil
	}
	if q.SrcPort != 0 || !hasPorts(q.Protocol) {
		rev, err := Evaluate(x, Query{Src: q.Dst, Dst: q.Src, DstPort: q.SrcPort, SrcPort: q.DstPort, Protocol: q.Protocol})
		if err == nil && rev.Verdict == Allow {
			return RecordVerdict{Allowed: true, Reply: true, Result: rev}, nil
		}
	}
	fwd.Verdict, fwd.Layer, fwd.Rule = Deny, stop.Layer, stop.Rule
	return RecordVerdict{Result: fwd}, nil
}

// firstDeny returns the first denying step of the request's path (reply
// false) or of every path (reply true). A NAT's checks on the request's
// path do not count: a record of a flow to the internet is its source
// interface's, logged before the NAT (the NAT's own records stand for the
// hosts behind it and are not judged).
func firstDeny(steps []Step, reply bool) *Step {
	for i := range steps {
		if steps[i].Result == Deny && (reply || !steps[i].Reply && !isNATStep(steps[i])) {
			return &steps[i]
		}
	}
	return nil
}

// hasPorts reports whether a protocol's packets carry ports (tcp, udp).
func hasPorts(proto int) bool { return proto == 6 || proto == 17 }
