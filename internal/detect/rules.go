package detect

import (
	"strings"
	"time"
)

// aggregate runs the per-record rules over the batch (but the rows set in
// skip, when not nil) into e.aggs, in passes that each branch little on the
// data: every row's source; the rows from within a scope (the candidates);
// which candidates each detector counts; then each detector's accumulators
// over its rows, in order (so each key's accumulator is the same as record
// by record).
func (e *Engine) aggregate(c *columns, n int, now int64, skip []uint64) {
	if len(e.addrs.info) > maxAddrs {
		e.addrs.reset()
	}
	e.aggs = e.aggs[:0]
	e.index.reset()
	if cap(e.srcIDs) < n {
		e.srcIDs, e.srcFlag = make([]uint64, n), make([]uint16, n)
		e.dstIDs, e.dstFlag, e.wins = make([]uint64, n), make([]uint16, n), make([]int64, n)
		e.rows = rowLists{cand: make([]int32, n), exfil: make([]int32, n), reject: make([]int32, n), scan: make([]int32, n)}
	}
	e.sources(c, n)
	mask := coreMask(c, n, &e.mask)
	cand := e.candidates(c, n, now, mask, skip)
	ex, rj, sc := e.split(c, cand, mask)
	sids, dids, wins := e.srcIDs[:n], e.dstIDs[:n], e.wins[:n]
	for _, v := range e.gather(c, ex, mask) {
		e.exfilRecord(c, &v)
	}
	for _, r := range rj {
		i := int(r)
		core := mask[i>>6]>>(i&63)&1 != 0
		a := e.agg(aggKey{win: wins[i], src: sids[i], dst: noAddr, det: detReject}, c, i, c.start.value(i), core)
		if core || c.dstPort.valid(i) {
			a.ports.add(uint16(c.dstPort.value(i)), maxListedPorts)
		}
		var b int64
		if core || c.bytes.valid(i) {
			b = c.bytes.value(i)
		}
		a.bytes += b
		e.evidence(a, c, i, b)
	}
	pc := &e.pairs
	pc.next()
	gen := pc.gen
	// First each record's accumulator, then the counting: in two loops,
	// the reads of one record's accumulator do not wait on the finding of
	// the next one's.
	if cap(e.scanIdx) < len(sc) {
		e.scanIdx = make([]int32, len(sc))
	}
	idxs := e.scanIdx[:len(sc)]
	for j, r := range sc { // as e.agg, without a call for each record
		i := int(r)
		k := aggKey{win: wins[i], src: sids[i], dst: dids[i], det: detScan}
		var pe *pairEntry // IPv4 pairs only: other IDs need all 64 bits
		if (k.src|k.dst)>>32 == 0 {
			pair := k.src<<32 | k.dst
			pe = &pc.entries[(pair*0x9e3779b97f4a7c15)>>(64-pairBits)]
			if pe.pair == pair && pe.win == k.win && pe.gen == gen {
				idxs[j] = pe.idx
				continue
			}
		}
		idx := e.accumulator(k, c.start.value(i))
		if pe != nil {
			*pe = pairEntry{pair: k.src<<32 | k.dst, win: k.win, gen: gen, idx: idx}
		}
		idxs[j] = idx
	}
	for j, r := range sc {
		i := int(r)
		core := mask[i>>6]>>(i&63)&1 != 0
		a := &e.aggs[idxs[j]]
		a.count1(c, i, c.start.value(i), core)
		a.tries.add(uint16(c.dstPort.value(i)), int32(i)) // its ports: scanProbes
		if core || c.bytes.valid(i) {
			a.bytes += c.bytes.value(i)
		}
	}
	if e.scan {
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

// rowValues are the values of one record that exfiltration counts,
// gathered from the batch's columns (gather).
type rowValues struct {
	src, dst                   uint64 // address IDs
	start, end, bytes, packets int64  // end: start when the record has none; 0 for absent counts
	row                        int32
	port                       int32 // destination port, -1 when absent
}

// gather copies the values of rows (a sparse subset of the batch: the
// exfiltration rows are a few in a hundred) into e.vals, in a loop that does
// nothing else, so the loads from the batch's columns, mostly cache misses,
// overlap instead of stalling the accumulation one by one.
func (e *Engine) gather(c *columns, rows []int32, mask []uint64) []rowValues {
	if cap(e.vals) < len(rows) {
		e.vals = make([]rowValues, len(rows))
	}
	out := e.vals[:len(rows)]
	sids, dids := e.srcIDs, e.dstIDs
	for k, r := range rows {
		i := int(r)
		v := &out[k]
		v.row, v.src, v.dst, v.start = r, sids[i], dids[i], c.start.value(i)
		if mask[i>>6]>>(i&63)&1 != 0 { // the core columns are all valid
			v.end, v.bytes, v.packets, v.port = c.end.value(i), c.bytes.value(i), c.packets.value(i), int32(uint16(c.dstPort.value(i)))
			continue
		}
		v.end, v.bytes, v.packets, v.port = v.start, c.bytes.get(i), c.packets.get(i), -1
		if c.end.valid(i) {
			v.end = c.end.value(i)
		}
		if c.dstPort.valid(i) {
			v.port = int32(uint16(c.dstPort.value(i)))
		}
	}
	return out
}

// exfilRecord counts a record in the two hopping windows of each
// exfiltration rule that contain it: with the rule's window W, windows of
// length 2W start every W, so any span of W lies within one of them. The
// record is in the first half of one (its head) and the second of the other.
func (e *Engine) exfilRecord(c *columns, v *rowValues) {
	for ri := range e.rules {
		w := e.rules[ri].win
		j := floorDiv(v.start, w) * w
		for _, ws := range [2]int64{j - w, j} {
			a := &e.aggs[e.accumulator(aggKey{win: ws, src: v.src, dst: v.dst, det: detExfil, rule: uint8(ri)}, v.start)]
			a.countValues(v.start, v.end, v.packets)
			if v.port >= 0 {
				a.ports.add(uint16(v.port), maxListedPorts)
			}
			a.bytes += v.bytes
			if ws == j {
				a.head += v.bytes
			}
			e.evidence(a, c, int(v.row), v.bytes)
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

// agg returns the accumulator of k, counting record i in it.
func (e *Engine) agg(k aggKey, c *columns, i int, start int64, core bool) *agg {
	a := &e.aggs[e.accumulator(k, start)]
	a.count1(c, i, start, core)
	return a
}

// accumulator returns the index of k's accumulator in e.aggs, adding it
// when k is new (its first record starting at start).
func (e *Engine) accumulator(k aggKey, start int64) int32 {
	idx, added := e.index.findOrAdd(k, e.aggs)
	if added {
		e.newAgg(k, start)
	}
	return idx
}

// newAgg appends the accumulator of k, added to the index, whose first
// record starts at start.
func (e *Engine) newAgg(k aggKey, start int64) {
	idx := len(e.aggs)
	until := k.win + e.span(k)
	if len(e.aggs) < cap(e.aggs) {
		e.aggs = e.aggs[:len(e.aggs)+1]
		// Field by field: a whole agg written at once goes through a
		// temporary and a bulk write barrier.
		a := &e.aggs[idx]
		a.key, a.until, a.first, a.last = k, until, start, start
		a.bytes, a.packets, a.count, a.head, a.probes = 0, 0, 0, 0, probes{}
		a.ports, a.tries, a.ev = a.ports.reset(), a.tries.reset(), a.ev[:0]
	} else {
		e.aggs = append(e.aggs, agg{key: k, until: until, first: start, last: start})
	}
	a := &e.aggs[idx]
	if cap(a.ev) == 0 {
		// A slot used for the first time: its small slices come from the
		// engine's arenas.
		a.ports.small, a.ev = e.portArena.take(4), e.rowArena.take(e.cfg.Evidence)
	}
	if k.det == detScan && cap(a.tries.list) == 0 {
		a.tries.list = e.tryArena.take(4)
	}
}

// count1 counts record i, which starts at start, in a.
func (a *agg) count1(c *columns, i int, start int64, core bool) {
	var packets int64
	if core || c.packets.valid(i) {
		packets = c.packets.value(i)
	}
	end := start
	if core || c.end.valid(i) {
		end = c.end.value(i)
	}
	a.countValues(start, end, packets)
}

// countValues counts in a a record of start, end and packets. A record
// that ends after its window closes is seen until then: an alert's span
// stays within its window.
func (a *agg) countValues(start, end, packets int64) {
	a.count++
	a.packets += packets
	a.first = min(a.first, start)
	a.last = max(a.last, min(end, a.until))
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
