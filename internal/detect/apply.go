package detect

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// apply adds the batch's aggregates (e.aggs) to the state and returns their
// totals, in the same order. A MemoryState is given compact keys built from
// the address IDs (e.mups), and its brief totals go to e.brief (apply
// returns nil); any other State gets Keys with their text.
func (e *Engine) apply(ctx context.Context, token string, now time.Time) ([]Totals, error) {
	n := len(e.aggs)
	e.ports = e.ports[:0]
	if e.mem != nil {
		if cap(e.mups) < n {
			e.mups, e.brief = make([]memUpdate, n, n+n/4), make([]memTotals, n, n+n/4)
		}
		e.mups, e.brief = e.mups[:n], e.brief[:n]
		for i := range e.aggs {
			// In place: a memUpdate is large, and a key per internet
			// peer makes many of them.
			a, u := &e.aggs[i], &e.mups[i]
			e.putMemKey(a.key, &u.key)
			e.putDelta(a, &u.delta)
			u.expires = e.expires(a.key)
		}
		e.early = e.mem.applyKeys(token, now.Unix(), e.mups, e.brief, e.early)
		return nil, nil
	}
	ups := make([]Update, n)
	for i := range e.aggs {
		a := &e.aggs[i]
		ups[i] = Update{Key: e.key(a.key), Expires: e.expires(a.key)}
		e.putDelta(a, &ups[i].Delta)
	}
	totals, err := e.st.Apply(ctx, token, now, ups)
	if err != nil {
		return nil, fmt.Errorf("apply batch to state: %w", err)
	}
	if len(totals) != len(ups) {
		return nil, fmt.Errorf("apply batch to state: %d totals for %d keys", len(totals), len(ups))
	}
	return totals, nil
}

// putDelta sets d to what an aggregate adds to its key's state. State
// counts a port scan's probes, and its ports: ScanPorts distinct ports of
// one batch make the key due whatever the others, so no more are stored.
func (e *Engine) putDelta(a *agg, d *Delta) {
	if a.key.det != detScan {
		d.Bytes, d.Head, d.Packets, d.Count, d.First, d.Last, d.Ports = a.bytes, a.head, a.packets, a.count, a.first, a.last, nil
		return
	}
	p := &a.probes
	d.Bytes, d.Head, d.Packets, d.Count, d.First, d.Last, d.Ports = p.bytes, 0, p.packets, p.count, p.first, p.last, nil
	at := len(e.ports)
	e.ports = a.ports.appendSorted(e.ports)
	if len(e.ports) > at {
		d.Ports = e.ports[at:min(len(e.ports), at+e.cfg.ScanPorts):min(len(e.ports), at+e.cfg.ScanPorts)]
	}
}

// expires returns when a key's state may be forgotten (0: never).
func (e *Engine) expires(k aggKey) int64 {
	if e.ret <= 0 {
		return 0
	}
	return k.win + e.span(k) + e.ret
}

// putMemKey sets mk to the MemoryState key of k: the same as that of
// e.key(k).
func (e *Engine) putMemKey(k aggKey, mk *memKey) {
	mk.win, mk.det, mk.span = k.win, uint32(k.det), 0
	if k.det == detExfil {
		mk.span = e.span(k)
	}
	sk, dk := e.addrs.compact(k.src, &mk.src), kindEmpty
	if k.dst != noAddr {
		dk = e.addrs.compact(k.dst, &mk.dst)
	} else {
		mk.dst = [16]byte{}
	}
	mk.kinds = sk | dk<<2
}

// appendSorted appends the set's ports to buf, sorted.
func (s *portSet) appendSorted(buf []uint16) []uint16 {
	at := len(buf)
	if s.big == nil {
		buf = append(buf, s.small...)
	} else {
		for p := range s.big {
			buf = append(buf, p)
		}
	}
	slices.Sort(buf[at:])
	return buf
}

// fullTotals returns the full totals after the MemoryState applied e.mups[i].
func (e *Engine) fullTotals(i int) (Totals, bool) {
	for _, t := range e.early {
		if t.i == i {
			return t.t, true
		}
	}
	return e.mem.totalsOf(&e.mups[i].key)
}
