package detect

import (
	"slices"

	"github.com/flowq/flowq/internal/parse"
)

// refAgg is the reference computation of the Engine's accumulators: the
// rules record by record, in the plainest form (a Go map, no cached
// windows, no per-batch column passes), as the Engine computed them
// before its fast paths. The fast paths must give the same accumulators.
type refAgg struct {
	e       *Engine // read only: configuration, address table
	aggs    []agg
	index   map[aggKey]int
	sum     Summary // the counters aggregate adds to
	anyLate bool
}

// refAggregate runs the reference over the batch.
func refAggregate(e *Engine, c *columns, n int, now int64) *refAgg {
	r := &refAgg{e: e, index: make(map[aggKey]int)}
	cfg := &e.cfg
	w := e.win
	for i := range n {
		if c.status.IsValid(i) {
			if s := c.status.Value(i); s != parse.StatusOK {
				if s == parse.StatusNoData || s == parse.StatusSkipData {
					r.sum.Skipped++
				} else {
					r.sum.Unusable++
				}
				continue
			}
		}
		if !c.start.valid(i) || !c.src.IsValid(i) || !c.dst.IsValid(i) {
			r.sum.Unusable++
			continue
		}
		start := c.start.value(i)
		win := floorDiv(start, w) * w
		if e.ret > 0 && win+w+e.ret < now {
			r.sum.Late++
			continue
		}
		src := c.src.Value(i)
		if c.pktSrc.IsValid(i) {
			src = c.pktSrc.Value(i)
		}
		si, sf, ok := e.addrs.lookup(src)
		if !ok {
			r.sum.Unusable++
			continue
		}
		reject := c.action.IsValid(i) && c.action.Value(i) == parse.ActionReject
		if sf&(fWatch|fRejectSrc|fScanSrc) == 0 && !cfg.ExfilAnyPair {
			if reject && e.rej {
				r.sum.InboundRejects++
			}
			continue
		}
		dst := c.dst.Value(i)
		if c.pktDst.IsValid(i) {
			dst = c.pktDst.Value(i)
		}
		di, df, ok := e.addrs.lookup(dst)
		if !ok {
			r.sum.Unusable++
			continue
		}
		reply := refReply(c, i)
		if e.exfil && !reject &&
			(cfg.ExfilAnyPair || sf&fWatch != 0 && df&fWatch == 0) &&
			df&fExfilAllow == 0 && sf&fExfilAllowSrc == 0 &&
			(cfg.ExfilAWSServices || !c.dstSvc.IsValid(i)) &&
			!(sf&fWatch != 0 && c.dir.IsValid(i) && c.dir.Value(i) == "ingress") && !reply {
			b := c.bytes.get(i)
			for ri, rule := range e.rules {
				j := floorDiv(start, rule.win) * rule.win
				for _, ws := range [2]int64{j - rule.win, j} {
					a := r.agg(aggKey{win: ws, src: si, dst: di, det: detExfil, rule: uint8(ri)}, c, i, start)
					if c.dstPort.valid(i) {
						a.ports.add(uint16(c.dstPort.value(i)), maxListedPorts)
					}
					a.bytes += b
					if ws == j {
						a.head += b
					}
					r.evidence(a, c, i, b)
				}
			}
		}
		if e.rej && reject {
			port := -1
			if c.dstPort.valid(i) {
				port = int(c.dstPort.value(i))
			}
			switch {
			case sf&fRejectSrc == 0 && sf&fWatch == 0:
				r.sum.InboundRejects++
			case sf&fRejectSrc == 0 || sf&fRejectAllowSrc != 0 || df&fRejectDst == 0 || df&fRejectAllowDst != 0 ||
				!e.rejPorts.has(port, true) || e.rejAllowPorts.has(port, false):
				r.sum.AllowedRejects++
			default:
				r.sum.Rejects++
				a := r.agg(aggKey{win: win, src: si, dst: noAddr, det: detReject}, c, i, start)
				if port >= 0 {
					a.ports.add(uint16(port), maxListedPorts)
				}
				a.bytes += c.bytes.get(i)
				r.evidence(a, c, i, c.bytes.get(i))
			}
		}
		if e.scan && sf&fScanSrc != 0 && c.dstPort.valid(i) && !reply && (!c.proto.valid(i) || c.proto.value(i) == 6 || c.proto.value(i) == 17 || c.proto.value(i) == 132) {
			a := r.agg(aggKey{win: win, src: si, dst: di, det: detScan}, c, i, start)
			a.tries.add(uint16(c.dstPort.value(i)), int32(i))
			a.bytes += c.bytes.get(i)
		}
	}
	if e.scan {
		r.scanProbes(c)
	}
	return r
}

// refReply reports whether record i looks like the server's side of a
// connection, whose destination port is the client's ephemeral port: TCP
// flags with SYN-ACK, or a source port below a destination port of 1024 or
// more.
func refReply(c *columns, i int) bool {
	if c.flags.valid(i) && c.flags.value(i)&0x12 == 0x12 {
		return true
	}
	if !c.srcPort.valid(i) || !c.dstPort.valid(i) {
		return false
	}
	return c.srcPort.value(i) < c.dstPort.value(i) && c.dstPort.value(i) >= 1024
}

func (r *refAgg) agg(k aggKey, c *columns, i int, start int64) *agg {
	x, ok := r.index[k]
	if !ok {
		x = len(r.aggs)
		r.index[k] = x
		r.aggs = append(r.aggs, agg{key: k, until: k.win + r.e.span(k), first: start, last: start})
	}
	a := &r.aggs[x]
	a.count++
	a.packets += c.packets.get(i)
	a.first = min(a.first, start)
	end := start
	if c.end.valid(i) {
		end = min(c.end.value(i), k.win+r.e.span(k))
	}
	a.last = max(a.last, end)
	return a
}

func (r *refAgg) evidence(a *agg, c *columns, i int, b int64) {
	n := r.e.cfg.Evidence
	if len(a.ev) < n {
		a.ev = append(a.ev, int32(i))
		return
	}
	if a.key.det != detExfil || n == 0 {
		return
	}
	m, mb := -1, b
	for j, row := range a.ev {
		if rb := c.bytes.get(int(row)); rb < mb {
			m, mb = j, rb
		}
	}
	if m >= 0 {
		a.ev[m] = int32(i)
	}
}

func (r *refAgg) scanProbes(c *columns) {
	for x := range r.aggs {
		a := &r.aggs[x]
		if a.key.det != detScan {
			continue
		}
		for _, t := range a.tries.list {
			a.ports.add(t.port, 1<<16)
		}
		end := a.key.win + r.e.span(a.key)
		p := probes{first: end, last: a.key.win}
		for _, t := range a.tries.list {
			if t.n > maxProbeTries {
				continue
			}
			for _, row := range t.rows[:t.n] {
				j := int(row)
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
			if len(a.ev) < r.e.cfg.Evidence {
				a.ev = append(a.ev, t.rows[0])
			}
		}
		if p.count == 0 {
			for _, t := range a.tries.list[:min(len(a.tries.list), r.e.cfg.Evidence)] {
				a.ev = append(a.ev, t.rows[0])
			}
		}
		a.probes = p
	}
}

// aggView is an accumulator's content, comparable across implementations.
type aggView struct {
	Key                         aggKey
	Until                       int64
	Bytes, Packets, Count, Head int64
	First, Last                 int64
	Ports                       []uint16
	Ev                          []int32
	Tries                       []portTry
	Probes                      probes
}

func viewAggs(aggs []agg) map[aggKey]aggView {
	out := make(map[aggKey]aggView, len(aggs))
	for i := range aggs {
		a := &aggs[i]
		out[a.key] = aggView{Key: a.key, Until: a.until, Bytes: a.bytes, Packets: a.packets, Count: a.count, Head: a.head,
			First: a.first, Last: a.last, Ports: a.ports.list(), Ev: slices.Clone(a.ev),
			Tries: slices.Clone(a.tries.list), Probes: a.probes}
		v := out[a.key]
		if len(v.Ev) == 0 {
			v.Ev = nil
		}
		if len(v.Tries) == 0 {
			v.Tries = nil
		}
		out[a.key] = v
	}
	return out
}
