package detect

import (
	"math"

	"github.com/flowq/flowq/internal/parse"
)

// Which rows each detector counts, decided column by column over a batch
// before any accumulator is touched (see Engine.aggregate).

// rowLists are a batch's rows by what counts them, each in order.
type rowLists struct {
	cand                []int32 // rows from within a scope
	exfil, reject, scan []int32 // the rows each detector counts
}

// rowReject in Engine.srcFlag marks a candidate row with a REJECT record.
const rowReject uint16 = 1 << 14

// b2i is 1 for true: appending a row at [k] and advancing k by b2i(cond)
// keeps it or not without a branch to mispredict.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sources looks up every row's source address (e.srcIDs, e.srcFlag), in a
// tight loop over the address columns alone.
func (e *Engine) sources(c *columns, n int) {
	e.addrs.lookupRows(&c.pktSrc, &c.src, n, nil, e.srcIDs[:n], e.srcFlag[:n])
}

// candidates returns the rows that some detector may count: usable, in
// time, and from within a scope; it counts the others, and sets each
// candidate's window start in e.wins. Rows set in skip (when not nil) are
// neither candidates nor counted.
func (e *Engine) candidates(c *columns, n int, now int64, mask, skip []uint64) []int32 {
	w, ret := e.win, e.ret
	anyPair := b2i(e.cfg.ExfilAnyPair) // every pair: every source is in scope
	rej := e.rej
	curWin := int64(math.MinInt64 / 2)
	var skipped, unusable, late, inbound int64
	sflags, wins, cand := e.srcFlag[:n], e.wins[:n], e.rows.cand[:n]
	k := 0
	for i := range n {
		if skip != nil && skip[i>>6]>>(i&63)&1 != 0 {
			continue
		}
		if c.status.IsValid(i) {
			if s := c.status.Value(i); s != parse.StatusOK {
				if s == parse.StatusNoData || s == parse.StatusSkipData {
					skipped++
				} else {
					unusable++
				}
				continue
			}
		}
		core := mask[i>>6]>>(i&63)&1 != 0 // the core columns are all valid
		if !core && (!c.start.valid(i) || !c.src.IsValid(i) || !c.dst.IsValid(i)) {
			unusable++
			continue
		}
		start := c.start.value(i)
		if start < curWin || start >= curWin+w { // records of a batch mostly share a window
			curWin = start - start%w
			if start < 0 && start%w != 0 {
				curWin -= w
			}
		}
		if ret > 0 && curWin+w+ret < now {
			if late == 0 {
				e.lateSample = lateSample(c, i, start)
			}
			late++
			continue
		}
		sf := sflags[i]
		if sf == srcBad {
			unusable++
			continue
		}
		reject := false
		if core || c.action.IsValid(i) { // ACCEPT or REJECT: the first byte tells
			if v := c.action.Value(i); len(v) > 0 && v[0] == 'R' {
				reject = v == parse.ActionReject
			}
		}
		in := b2i(sf&(fWatch|fRejectSrc|fScanSrc) != 0) | anyPair
		if reject && in == 0 && rej {
			// From outside every scope (the internet): no detector needs
			// the destination.
			inbound++
		}
		wins[i] = curWin
		if reject {
			sflags[i] |= rowReject
		}
		cand[k] = int32(i)
		k += in
	}
	e.sum.Skipped += skipped
	e.sum.Unusable += unusable
	e.sum.Late += late
	e.sum.InboundRejects += inbound
	return cand[:k]
}

// split looks up the candidates' destinations (e.dstIDs) and returns the
// rows each detector counts. Each rule is computed as 0 or 1 and rows are
// kept by advancing past them or not: a branch that the data decides at
// random (reply or not, internet or not, a service or not) costs more than
// the few operations it saves.
func (e *Engine) split(c *columns, cand []int32, mask []uint64) (ex, rj, sc []int32) {
	anyPair, awsSvc := b2i(e.cfg.ExfilAnyPair), b2i(e.cfg.ExfilAWSServices)
	exfil, scan, rej := b2i(e.exfil), b2i(e.scan), e.rej
	var unusable, inbound, allowed, rejects int64
	sflags, dflags := e.srcFlag, e.dstFlag
	e.addrs.lookupRows(&c.pktDst, &c.dst, len(cand), cand, e.dstIDs, dflags)
	ex, rj, sc = e.rows.exfil[:len(cand)], e.rows.reject[:0], e.rows.scan[:len(cand)]
	ke, ks := 0, 0
	for _, r := range cand {
		i := int(r)
		df := dflags[i]
		if df == srcBad {
			unusable++
			continue
		}
		sf := sflags[i]
		reject := sf&rowReject != 0
		core := mask[i>>6]>>(i&63)&1 != 0
		// The record's ports and protocol, and whether it looks like the
		// server's side of a connection, whose destination port is the
		// client's ephemeral port (a reply): TCP flags with SYN-ACK, or a
		// source port below a destination port of 1024 or more. Replies
		// would make every busy client look like a port scan.
		var sp, dp, proto, flags int64
		ports, hasPort, hasProto := 1, 1, 1
		if core {
			sp, dp, proto = c.srcPort.value(i), c.dstPort.value(i), c.proto.value(i)
		} else {
			hasPort, hasProto = b2i(c.dstPort.valid(i)), b2i(c.proto.valid(i))
			ports = hasPort & b2i(c.srcPort.valid(i))
			sp, dp, proto = c.srcPort.get(i), c.dstPort.get(i), c.proto.get(i)
		}
		if c.flags.valid(i) {
			flags = c.flags.value(i)
		}
		reply := b2i(flags&0x12 == 0x12) | ports&b2i(sp < dp)&b2i(dp >= 1024)
		watched := b2i(sf&fWatch != 0)
		svc := b2i(c.dstSvc.IsValid(i))
		out := exfil & (1 - b2i(reject)) & (anyPair | watched&b2i(df&fWatch == 0)) &
			b2i(df&fExfilAllow == 0) & b2i(sf&fExfilAllowSrc == 0) & (awsSvc | (1 - svc)) &
			// A server answering its clients is not sending data away.
			(1 - reply)
		ex[ke] = int32(i)
		ke += out
		portProto := b2i(proto == 6) | b2i(proto == 17) | b2i(proto == 132)
		sc[ks] = int32(i)
		ks += scan & b2i(sf&fScanSrc != 0) & hasPort & (1 - reply) & (1 - hasProto | portProto)
		if rej && reject {
			port := -1
			if core || c.dstPort.valid(i) {
				port = int(c.dstPort.value(i))
			}
			switch {
			case sf&fRejectSrc == 0 && sf&fWatch == 0:
				inbound++
			case sf&fRejectSrc == 0 || sf&fRejectAllowSrc != 0 || df&fRejectDst == 0 || df&fRejectAllowDst != 0 ||
				!e.rejPorts.has(port, true) || e.rejAllowPorts.has(port, false):
				allowed++
			default:
				rejects++
				rj = append(rj, int32(i))
			}
		}
	}
	e.sum.Unusable += unusable
	e.sum.InboundRejects += inbound
	e.sum.AllowedRejects += allowed
	e.sum.Rejects += rejects
	return e.egressOnly(c, ex[:ke]), rj, sc[:ks]
}

// egressOnly drops from the exfiltration rows those of a watched source
// logged on the receiving (ingress) side: a flow between two watched ENIs
// is logged on both, and is counted once, on the sender's (egress) side.
// The rows are a few in a hundred: in a loop of its own, the reads of their
// direction overlap instead of stalling split's loop one by one.
func (e *Engine) egressOnly(c *columns, ex []int32) []int32 {
	if !c.dir.ok {
		return ex
	}
	sflags, k := e.srcFlag, 0
	for _, r := range ex {
		i := int(r)
		ex[k] = r
		if sflags[i]&fWatch == 0 || !c.dir.IsValid(i) || c.dir.Value(i) != "ingress" {
			k++
		}
	}
	return ex[:k]
}
