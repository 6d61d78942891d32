package detect

import (
	"unsafe"

	"github.com/flowq/flowq/internal/parse"
)

// flagged is a record of a batch the rules disagree with, and the verdicts
// (rules) it was judged by.
type flagged struct {
	row int
	m   *policyMemo
}

// flag judges every record of the batch that detection reads (log-status
// OK or absent, the core columns present, started at or after cut) against
// the rules in force at its start, through the verdicts remembered, and
// returns the records the rules disagree with, in order (in buf's storage).
// It stops at the first record no rules are in force for (no inventory
// yet).
//
// This is the policy detector's cost on every record, so the row cache's
// probe (policyMemo.judge's first step) is written out in the loop: one
// direct-mapped slot answers a record whose flow was judged before, from
// the address texts in place.
func (d *PolicyDetector) flag(c *columns, n int, mask []uint64, cut int64, buf []flagged) []flagged {
	out := buf[:0]
	var cur *policyMemo
	var from, until int64
	for i := range n {
		if c.status.IsValid(i) && c.status.Value(i) != parse.StatusOK {
			continue
		}
		core := mask[i>>6]>>(i&63)&1 != 0 // the core columns are all valid
		if !core && (!c.action.IsValid(i) || !c.src.IsValid(i) || !c.dst.IsValid(i) || !c.start.valid(i) || !c.proto.valid(i)) {
			continue
		}
		start := c.start.value(i)
		if start < cut {
			continue
		}
		if cur == nil || start < from || start >= until {
			r, f, u, ok := d.judge.Rules(start)
			if !ok {
				break // nothing to judge by (no inventory yet)
			}
			cur, from, until = d.memo(r), f, u
		}
		src, dst := c.src.Value(i), c.dst.Value(i)
		var srcPort, dstPort int
		if core || c.srcPort.valid(i) {
			srcPort = int(c.srcPort.value(i))
		}
		if core || c.dstPort.valid(i) {
			dstPort = int(c.dstPort.value(i))
		}
		proto := int(c.proto.value(i))
		accepted := c.action.Value(i) == parse.ActionAccept
		meta := uint64(uint16(dstPort))<<16 | uint64(proto&0xff)<<8
		if accepted {
			meta |= 1
		}
		if ns, nd := len(src), len(dst); uint(ns-8) <= 8 && uint(nd-8) <= 8 && uint(srcPort)|uint(dstPort) <= 0xffff && uint(proto) <= 0xff {
			// The row cache, for texts of 8 to 16 bytes (policyMemo.judge).
			ps, pd := unsafe.Pointer(unsafe.StringData(src)), unsafe.Pointer(unsafe.StringData(dst))
			s1, s2 := *(*uint64)(ps), *(*uint64)(unsafe.Add(ps, ns-8))
			d1, d2 := *(*uint64)(pd), *(*uint64)(unsafe.Add(pd, nd-8))
			key := meta | uint64(ns)<<56 | uint64(nd)<<48
			r := &cur.rows[rowHash(s1, s2, d1, d2, key)]
			if r.s1 == s1 && r.d1 == d1 && r.s2 == s2 && r.d2 == d2 && r.meta == key && uint(srcPort-int(r.lo)) <= uint(r.hi-r.lo) {
				if r.bad {
					out = append(out, flagged{i, cur})
				}
				continue
			}
		}
		if cur.judgeMiss(src, dst, srcPort, dstPort, proto, accepted, meta) {
			out = append(out, flagged{i, cur})
		}
	}
	return out
}
