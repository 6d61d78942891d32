package detect

import (
	"unsafe"

	"github.com/flowq/flowq/internal/parse"
)

// The policy detector's pass over a batch, and the two caches in front of
// the verdicts (policymemo.go) that answer nearly every record:
//
//   - the row cache: a flow as its record spells it (the address texts
//     exactly, the lower port, protocol, action), for a box of ports
//     (PortBox: a request's client ports to one service port, or a
//     reply's from it). One probe answers a record whose flow was judged
//     before. Its sets have two ways: a flow comes in as the second, and
//     becomes the first when it repeats, so that flows seen once (a
//     scanner whose port the peer cache does not cover) replace only
//     flows seen once.
//   - the peer cache, for records the row cache cannot know (a scanner's
//     or an internet peer's new address every record): a flow keyed by
//     one side's address text, with the other side's class as the range
//     of IPv4 addresses it spans (the rules' ClassBounds4). Parsing the
//     new address and comparing it with the range answers the record
//     without the class's search or the verdict table, and without
//     evicting a row that repeats.
//
// Both answer exactly what the verdicts do: a text identifies its address
// hence its class; an address within a class's range is of that class.

const memoPeers = 512 // direct-mapped peer flows per rules

// rowSet is a set of the row cache: its first way, then the second.
type rowSet [2]rowSlot

// rowSlot remembers the verdict on a flow as its record spells it: the
// address texts (textKey), lower port, protocol and action (meta, never 0
// for a flow: the texts' lengths are in it), over a box of ports.
type rowSlot struct {
	s1, s2, d1, d2 uint64
	meta           uint64 // text lengths, lower port, protocol, action
	ports          ports16
	bad            bool
}

// peerSlot remembers the verdict on the flows from (or to) one address
// text whose other side is any IPv4 address lo4..hi4 (one class), over a
// box of ports. meta is a rowSlot's with only the known side's length and
// a bit for the side (never 0 for a flow).
type peerSlot struct {
	w1, w2   uint64
	meta     uint64
	lo4, hi4 uint32
	ports    ports16
	bad      bool
}

// Peer keys: which side of the flow the text is.
const (
	peerDst = 1 << 46 // keyed by the destination's text; lo4..hi4 are sources
	peerSrc = 1 << 47 // keyed by the source's text; lo4..hi4 are destinations
	lenMask = 0x1f<<56 | 0x1f<<48
)

// flowMeta packs what a row key holds besides the texts (port and
// protocol within 16 and 8 bits): the texts' lengths, the lower of the two
// ports (the service's, most often: a request's destination port, a
// reply's source port, steady over a busy flow's records where the
// client's port varies), protocol and action. The port only spreads the
// flows of two hosts over sets and slots: a slot's box of ports decides.
func flowMeta(ns, nd, port, proto int, accepted bool) uint64 {
	meta := uint64(ns)<<56 | uint64(nd)<<48 | uint64(uint16(port))<<16 | uint64(proto&0xff)<<8
	if accepted {
		meta |= 1
	}
	return meta
}

// textKey returns the words that, with its length, identify a text of 4
// to 16 bytes (its first and last 8 bytes, or 4 under 8); ok is false for
// other lengths.
func textKey(s string) (w1, w2 uint64, ok bool) {
	n := len(s)
	p := unsafe.Pointer(unsafe.StringData(s))
	if uint(n-8) <= 8 {
		return *(*uint64)(p), *(*uint64)(unsafe.Add(p, n-8)), true
	}
	if uint(n-4) < 4 {
		return uint64(*(*uint32)(p)), uint64(*(*uint32)(unsafe.Add(p, n-4))), true
	}
	return 0, 0, false
}

// rowHash returns the set of a row key (memoRows/2 sets).
func rowHash(s1, s2, d1, d2, meta uint64) uint64 {
	return (s1*0x9e3779b97f4a7c15 ^ s2*0xc2b2ae3d27d4eb4f ^ d1*0x165667b19e3779f9 ^ d2*0x27d4eb2f165667c5 ^ meta*0x94d049bb133111eb) >> 55 % (memoRows / 2)
}

func peerHash(w1, w2, meta uint64) uint64 {
	return (w1*0x9e3779b97f4a7c15 ^ w2*0xc2b2ae3d27d4eb4f ^ meta*0x94d049bb133111eb) >> 55 % memoPeers
}

// flagged is a record of a batch the rules disagree with, and the verdicts
// (rules) it was judged by.
type flagged struct {
	row int
	m   *policyMemo
}

// flag judges every record of the batch that detection reads (log-status
// OK or absent, the core columns present, started at or after cut)
// against the rules in force at its start, through the verdicts
// remembered, and returns the records the rules disagree with, in order
// (in buf's storage). It stops at the first record no rules are in force
// for (no inventory yet).
//
// This is the policy detector's cost on every record, so the row cache's
// probe (policyMemo.judge's first step) is written out in the loop.
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
		var bad bool
		s1, s2, okS := textKey(src)
		d1, d2, okD := textKey(dst)
		if okS && okD && uint(srcPort)|uint(dstPort) <= 0xffff && uint(proto) <= 0xff {
			key := flowMeta(len(src), len(dst), min(srcPort, dstPort), proto, accepted)
			set := &cur.rows[rowHash(s1, s2, d1, d2, key)]
			if r := &set[0]; r.s1 == s1 && r.d1 == d1 && r.s2 == s2 && r.d2 == d2 && r.meta == key && r.ports.has(srcPort, dstPort) {
				bad = r.bad
			} else {
				bad = cur.miss(set, src, dst, s1, s2, d1, d2, key, srcPort, dstPort, proto, accepted)
			}
		} else {
			bad = cur.judgeOther(src, dst, srcPort, dstPort, proto, accepted)
		}
		if bad {
			out = append(out, flagged{i, cur})
		}
	}
	return out
}

// miss judges a flow its set of the row cache does not answer in its
// first way: from the second (which then becomes the first), from the
// peer cache, else from the verdicts, remembering the answer. The
// arguments are the flow's and its row key.
func (m *policyMemo) miss(set *rowSet, src, dst string, s1, s2, d1, d2, key uint64, srcPort, dstPort, proto int, accepted bool) bool {
	if r := &set[1]; r.s1 == s1 && r.d1 == d1 && r.s2 == s2 && r.d2 == d2 && r.meta == key && r.ports.has(srcPort, dstPort) {
		set[0], set[1] = set[1], set[0]
		return set[0].bad
	}
	// A new row goes to a free way, else replaces the second.
	r := &set[1]
	if set[0].meta == 0 {
		r = &set[0]
	}
	if m.bounds4 == nil {
		si, di := m.class(src), m.class(dst)
		if si == noClass || di == noClass {
			return false
		}
		bad, ports := m.verdict(si, di, srcPort, dstPort, proto, accepted, false)
		*r = rowSlot{s1: s1, s2: s2, d1: d1, d2: d2, meta: key, ports: ports, bad: bad}
		return bad
	}
	flow := key &^ lenMask
	ns, nd := uint64(len(src))<<56, uint64(len(dst))<<56
	pd := &m.peers[peerHash(d1, d2, flow|nd|peerDst)]
	if pd.w1 == d1 && pd.w2 == d2 && pd.meta == flow|nd|peerDst && pd.ports.has(srcPort, dstPort) {
		if ip, ok := parseIPv4(src); ok && ip-pd.lo4 <= pd.hi4-pd.lo4 {
			if r.meta == 0 { // a free way: no flow evicted
				*r = rowSlot{s1: s1, s2: s2, d1: d1, d2: d2, meta: key, ports: pd.ports, bad: pd.bad}
			}
			return pd.bad
		}
	}
	ps := &m.peers[peerHash(s1, s2, flow|ns|peerSrc)]
	if ps.w1 == s1 && ps.w2 == s2 && ps.meta == flow|ns|peerSrc && ps.ports.has(srcPort, dstPort) {
		if ip, ok := parseIPv4(dst); ok && ip-ps.lo4 <= ps.hi4-ps.lo4 {
			if r.meta == 0 {
				*r = rowSlot{s1: s1, s2: s2, d1: d1, d2: d2, meta: key, ports: ps.ports, bad: ps.bad}
			}
			return ps.bad
		}
	}
	sip, ok1 := parseIPv4(src)
	dip, ok2 := parseIPv4(dst)
	var bad bool
	var ports ports16
	if ok1 && ok2 {
		ks, kd := m.bound4(sip), m.bound4(dip)
		bad, ports = m.verdict(m.id4(ks), m.id4(kd), srcPort, dstPort, proto, accepted, false)
		slo, shi := m.span4(ks)
		dlo, dhi := m.span4(kd)
		*pd = peerSlot{w1: d1, w2: d2, meta: flow | nd | peerDst, lo4: slo, hi4: shi, ports: ports, bad: bad}
		*ps = peerSlot{w1: s1, w2: s2, meta: flow | ns | peerSrc, lo4: dlo, hi4: dhi, ports: ports, bad: bad}
	} else {
		si, di := m.class(src), m.class(dst)
		if si == noClass || di == noClass {
			return false
		}
		bad, ports = m.verdict(si, di, srcPort, dstPort, proto, accepted, false)
	}
	*r = rowSlot{s1: s1, s2: s2, d1: d1, d2: d2, meta: key, ports: ports, bad: bad}
	return bad
}

// judgeOther judges a flow the caches cannot key: address texts of other
// lengths (IPv6 mostly) through the verdicts; ports beyond 16 bits or
// protocols beyond 8 (a lake's column may hold anything), which boxes and
// keys hold 16 and 8 bits of, as they are, remembering nothing.
func (m *policyMemo) judgeOther(src, dst string, srcPort, dstPort, proto int, accepted bool) bool {
	si, di := m.class(src), m.class(dst)
	if si == noClass || di == noClass {
		return false
	}
	if uint(srcPort)|uint(dstPort) > 0xffff || uint(proto) > 0xff {
		_, bad, _ := m.rules.Judge(PolicyFlow{Src: m.reps[si], Dst: m.reps[di], SrcPort: srcPort, DstPort: dstPort, Protocol: proto, Accepted: accepted})
		return bad
	}
	bad, _ := m.verdict(si, di, srcPort, dstPort, proto, accepted, false)
	return bad
}
