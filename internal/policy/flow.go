package policy

import "github.com/flowq/flowq/internal/inventory"

// Record judges a flow-log record, which may be either half of a
// connection: flow logs log a request and its reply as two records, and
// security groups are stateful. The record is judged as a request (src to
// dst:dstport); when the rules deny that but allow the reverse connection
// (dst to src:srcport), the record is the reply of an allowed connection:
// allowed, with Reply set, and the result is the reverse connection's.
func Record(x *inventory.Index, q Query) (Result, bool, error) {
	fwd, err := Evaluate(x, q)
	if err != nil || fwd.Verdict == Allow || q.SrcPort == 0 {
		return fwd, false, err
	}
	rev, err := Evaluate(x, Query{Src: q.Dst, Dst: q.Src, DstPort: q.SrcPort, SrcPort: q.DstPort, Protocol: q.Protocol})
	if err != nil || rev.Verdict != Allow {
		return fwd, false, nil
	}
	return rev, true, nil
}
