package detect

import (
	"math"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/parse"
)

// aggregate runs the per-record rules over the batch into e.aggs.
func (e *Engine) aggregate(c *columns, n int, now int64) {
	if len(e.addrs.info) > maxAddrs {
		e.addrs.reset()
	}
	e.aggs = e.aggs[:0]
	e.index.reset()
	cfg := &e.cfg
	w, ret := e.win, e.ret
	anyPair, awsSvc := cfg.ExfilAnyPair, cfg.ExfilAWSServices
	exfil, rej, scan := e.exfil, e.rej, e.scan
	curWin := int64(math.MinInt64 / 2)
	// Counters live in locals during the loop.
	var skipped, unusable, late, inbound, allowed, rejects int64
	defer func() {
		e.sum.Skipped += skipped
		e.sum.Unusable += unusable
		e.sum.Late += late
		e.sum.InboundRejects += inbound
		e.sum.AllowedRejects += allowed
		e.sum.Rejects += rejects
	}()
	// Look up every row's source first, in a tight loop over the address
	// columns alone.
	if cap(e.srcIDs) < n {
		e.srcIDs, e.srcFlag = make([]uint64, n), make([]uint16, n)
	}
	sids, sflags := e.srcIDs[:n], e.srcFlag[:n]
	for i := range n {
		var src string
		switch {
		case c.pktSrc.IsValid(i):
			src = c.pktSrc.Value(i)
		case c.src.IsValid(i):
			src = c.src.Value(i)
		default:
			sflags[i] = srcBad
			continue
		}
		id, f, ok := e.addrs.lookup(src)
		if !ok {
			f = srcBad
		}
		sids[i], sflags[i] = id, f
	}
	mask := coreMask(c, n, &e.mask)
	for i := range n {
		if c.status.IsValid(i) && c.status.size(i) != 2 { // not "OK"
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
		win := curWin
		if ret > 0 && win+w+ret < now {
			if late == 0 {
				e.lateSample = lateSample(c, i, start)
			}
			late++
			continue
		}
		si, sf := sids[i], sflags[i]
		if sf == srcBad {
			unusable++
			continue
		}
		reject := false
		if core || c.action.IsValid(i) { // ACCEPT or REJECT: the first byte tells
			v := c.action.Value(i)
			reject = len(v) == len(parse.ActionReject) && v[0] == 'R' && v == parse.ActionReject
		}
		if sf&(fWatch|fRejectSrc|fScanSrc) == 0 && !anyPair {
			// From outside every scope (the internet): no detector needs
			// the destination.
			if reject && rej {
				inbound++
			}
			continue
		}
		var dst string
		if c.pktDst.IsValid(i) {
			dst = c.pktDst.Value(i)
		} else {
			dst = c.dst.Value(i)
		}
		di, df, ok := e.addrs.lookup(dst)
		if !ok {
			unusable++
			continue
		}

		if exfil && !reject &&
			(anyPair || sf&fWatch != 0 && df&fWatch == 0) &&
			df&fExfilAllow == 0 && sf&fExfilAllowSrc == 0 &&
			(awsSvc || !c.dstSvc.IsValid(i)) &&
			// A flow between two watched ENIs is logged on both; count it
			// once, on the sender's (egress) side.
			!(sf&fWatch != 0 && c.dir.IsValid(i) && isIngress(c.dir.Value(i))) &&
			// A server answering its clients is not sending data away.
			!isReply(c, i, core) {
			e.exfilRecord(c, i, si, di, start, core)
		}
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
				a := e.agg(aggKey{win: win, src: si, dst: noAddr, det: detReject}, c, i, start, core)
				if port >= 0 {
					a.ports.add(uint16(port), maxListedPorts)
				}
				var b int64
				if core || c.bytes.valid(i) {
					b = c.bytes.value(i)
				}
				a.bytes += b
				e.evidence(a, c, i, b)
			}
		}
		if scan && sf&fScanSrc != 0 && (core || c.dstPort.valid(i)) && !isReply(c, i, core) {
			if p := core || c.proto.valid(i); !p || isPortProto(c.proto.value(i)) {
				a := e.agg(aggKey{win: win, src: si, dst: di, det: detScan}, c, i, start, core)
				a.tries.add(uint16(c.dstPort.value(i)), int32(i)) // its ports: scanProbes
				if core || c.bytes.valid(i) {
					a.bytes += c.bytes.value(i)
				}
			}
		}
	}
	if scan {
		e.scanProbes(c)
	}
}

// scanProbes sets each port-scan key's probes: the records of the ports
// the batch saw tried at most maxProbeTries times (the first try of each is
// its evidence, in order). A port in regular use between the two hosts (a
// database's) counts towards the scan's ports but is not described as the
// scan, nor stretches its span. A key without such a port falls back on
// every record.
func (e *Engine) scanProbes(c *columns) {
	for i := range e.aggs {
		a := &e.aggs[i]
		if a.key.det != detScan {
			continue
		}
		for _, t := range a.tries.list { // every port tried, in order
			a.ports.add(t.port, 1<<16)
		}
		end := a.key.win + e.span(a.key)
		p := probes{first: end, last: a.key.win} // none: neutral in State's min and max
		a.ev = a.ev[:0]
		for _, t := range a.tries.list {
			if t.n > maxProbeTries {
				continue
			}
			for _, r := range t.rows[:t.n] {
				j := int(r)
				p.count++
				p.bytes += c.bytes.get(j)
				p.packets += c.packets.get(j)
				start := c.start.value(j)
				p.first = min(p.first, start)
				if c.end.valid(j) {
					start = max(start, min(c.end.value(j), end))
				}
				p.last = max(p.last, start)
			}
			if len(a.ev) < e.cfg.Evidence {
				a.ev = append(a.ev, t.rows[0])
			}
		}
		if p.count == 0 {
			for _, t := range a.tries.list[:min(len(a.tries.list), e.cfg.Evidence)] {
				a.ev = append(a.ev, t.rows[0])
			}
		}
		a.probes = p
	}
}

// exfilRecord counts record i in the two hopping windows of each
// exfiltration rule that contain it: with the rule's window W, windows of
// length 2W start every W, so any span of W lies within one of them. The
// record is in the first half of one (its head) and the second of the other.
func (e *Engine) exfilRecord(c *columns, i int, si, di uint64, start int64, core bool) {
	var b int64
	if core || c.bytes.valid(i) {
		b = c.bytes.value(i)
	}
	for ri := range e.rules {
		w := e.rules[ri].win
		j := floorDiv(start, w) * w
		for _, ws := range [2]int64{j - w, j} {
			a := e.agg(aggKey{win: ws, src: si, dst: di, det: detExfil, rule: uint8(ri)}, c, i, start, core)
			if core || c.dstPort.valid(i) {
				a.ports.add(uint16(c.dstPort.value(i)), maxListedPorts)
			}
			a.bytes += b
			if ws == j {
				a.head += b
			}
			e.evidence(a, c, i, b)
		}
	}
}

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// lateSample describes a late record for the log.
func lateSample(c *columns, i int, start int64) string {
	src, dst := c.src.Value(i), c.dst.Value(i)
	s := src + " -> " + dst + " start " + time.Unix(start, 0).UTC().Format(time.RFC3339)
	if c.eni.IsValid(i) {
		s = c.eni.Value(i) + " " + s
	}
	return strings.Clone(s)
}

// maxListedPorts bounds the ports listed in exfiltration and reject alerts.
const maxListedPorts = 64

// isIngress reports whether a flow-direction value is "ingress" (the other
// is "egress").
func isIngress(v string) bool { return len(v) == 7 && v[0] == 'i' && v == "ingress" }

func isPortProto(p int64) bool { return p == 6 || p == 17 || p == 132 }

// isReply reports whether record i looks like the server's side of a
// connection, whose destination port is the client's ephemeral port: TCP
// flags with SYN-ACK, or a source port below a destination port of 1024 or
// more. Replies would make every busy client look like a port scan.
func isReply(c *columns, i int, core bool) bool {
	if c.flags.valid(i) && c.flags.value(i)&0x12 == 0x12 {
		return true
	}
	if !core && (!c.srcPort.valid(i) || !c.dstPort.valid(i)) {
		return false
	}
	sp, dp := c.srcPort.value(i), c.dstPort.value(i)
	return sp < dp && dp >= 1024
}

// agg returns the accumulator of k, counting record i in it.
func (e *Engine) agg(k aggKey, c *columns, i int, start int64, core bool) *agg {
	idx, added := e.index.findOrAdd(k, e.aggs)
	if added {
		until := k.win + e.span(k)
		if len(e.aggs) < cap(e.aggs) {
			e.aggs = e.aggs[:len(e.aggs)+1]
			a := &e.aggs[idx]
			*a = agg{key: k, until: until, first: start, last: start, ports: a.ports.reset(), tries: a.tries.reset(), ev: a.ev[:0]}
		} else {
			e.aggs = append(e.aggs, agg{key: k, until: until, first: start, last: start})
		}
		if a := &e.aggs[idx]; cap(a.ev) == 0 {
			// A slot used for the first time: its small slices come
			// from the engine's arenas.
			a.ports.small, a.ev = e.portArena.take(4), e.rowArena.take(e.cfg.Evidence)
		}
		if a := &e.aggs[idx]; k.det == detScan && cap(a.tries.list) == 0 {
			a.tries.list = e.tryArena.take(4)
		}
	}
	a := &e.aggs[idx]
	a.count++
	if core || c.packets.valid(i) {
		a.packets += c.packets.value(i)
	}
	a.first = min(a.first, start)
	end := start
	if core || c.end.valid(i) {
		// A record that ends after its window closes is seen until then:
		// an alert's span stays within its window.
		end = min(c.end.value(i), a.until)
	}
	a.last = max(a.last, end)
	return a
}

// evidence keeps row i among the a's largest records (exfiltration) or
// first records (the others; for a port scan, the caller passes only each
// port's first record).
func (e *Engine) evidence(a *agg, c *columns, i int, b int64) {
	n := e.cfg.Evidence
	if len(a.ev) < n {
		a.ev = append(a.ev, int32(i))
		return
	}
	if a.key.det != detExfil || n == 0 {
		return
	}
	// Replace the smallest if row i is larger.
	m, mb := -1, b
	for j, r := range a.ev {
		var rb int64
		if c.bytes.valid(int(r)) {
			rb = c.bytes.value(int(r))
		}
		if rb < mb {
			m, mb = j, rb
		}
	}
	if m >= 0 {
		a.ev[m] = int32(i)
	}
}
