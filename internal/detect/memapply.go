package detect

import (
	"slices"
)

// memTotals is what the Engine reads of every key's totals after
// applyKeys, without pointers; the full Totals of the few keys that are due
// come from totalsOf.
type memTotals struct {
	bytes, head, count int64
	nports             int32
	replayed, sent     bool
}

// earlyTotals are the full totals after update i of an applyKeys call whose
// key a later update of the same call changes again (two spellings of one
// IPv6 address), for the Engine's due keys.
type earlyTotals struct {
	i int
	t Totals
}

// applyKeys is Apply by compact key, with brief totals into out (len(ups)).
// It returns early (reusing its capacity): the full totals of the updates
// that are not their key's last in ups.
func (s *MemoryState) applyKeys(batch string, now int64, ups []memUpdate, out []memTotals, early []earlyTotals) []earlyTotals {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	clear(out)
	if _, dup := s.batches[batch]; dup {
		for i := range ups {
			if x, ok := s.index.find(&ups[i].key, s.index.hash(&ups[i].key), &s.slab); ok {
				s.brief(x, &out[i])
			}
			out[i].replayed = true
		}
		return early[:0]
	}
	// Find (or make) the entries of every key first, then add: the
	// reads of each pass are independent of each other, so the processor
	// overlaps their cache misses (a key per internet peer makes most of
	// them misses).
	if cap(s.found) < len(ups) {
		s.found = make([]uint64, len(ups), len(ups)+len(ups)/4)
	}
	found := s.found[:len(ups)]
	for i := range ups {
		found[i] = s.index.hash(&ups[i].key)
	}
	var touch uint64
	mask := uint64(len(s.index.slots) - 1)
	for _, h := range found {
		touch += s.index.slots[h&mask]
	}
	s.touch = touch
	s.calls++
	for i := range ups {
		h := found[i]
		x, ok := s.index.find(&ups[i].key, h, &s.slab)
		if !ok {
			x = s.create(&ups[i].key, h, &ups[i].delta)
		}
		found[i] = uint64(x)
		if e := s.slab.at(x); e.call != s.calls {
			e.call, e.pending = s.calls, 1
		} else {
			e.pending++
		}
	}
	early = early[:0]
	var expires int64
	for i := range ups {
		u := &ups[i]
		x := uint32(found[i])
		s.update(x, &u.delta, u.expires)
		s.brief(x, &out[i])
		if e := s.slab.at(x); e.pending > 1 {
			e.pending--
			early = append(early, earlyTotals{i: i})
			s.totals(x, &early[len(early)-1].t, nil)
		}
		expires = batchExpiry(expires, u.expires)
	}
	s.batches[batch] = expires
	return early
}

// brief sets t to entry x's brief totals.
func (s *MemoryState) brief(x uint32, t *memTotals) {
	e := s.slab.at(x)
	t.bytes, t.head, t.count, t.sent, t.nports = e.bytes, e.head, e.count, e.sent, int32(e.nports)
	if e.nports > memPorts {
		t.nports = int32(len(s.aux[x].ports))
	}
}

// totalsOf returns the totals of key mk, and whether it is held.
func (s *MemoryState) totalsOf(mk *memKey) (Totals, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t Totals
	x, ok := s.index.find(mk, s.index.hash(mk), &s.slab)
	if ok {
		s.totals(x, &t, nil)
	}
	return t, ok
}

// add adds d to the entry of mk (creating it) and returns its index.
func (s *MemoryState) add(mk *memKey, d *Delta, expires int64) uint32 {
	h := s.index.hash(mk)
	x, ok := s.index.find(mk, h, &s.slab)
	if !ok {
		x = s.create(mk, h, d)
	}
	s.update(x, d, expires)
	return x
}

// create adds an entry for mk (not held), whose hash is h, and returns its
// index.
func (s *MemoryState) create(mk *memKey, h uint64, d *Delta) uint32 {
	var x uint32
	if n := len(s.free); n > 0 {
		x = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		x = s.slab.grow()
	}
	*s.slab.at(x) = memEntry{key: *mk, hash: h, first: d.First, last: d.Last, live: true}
	s.index.insert(h, x, &s.slab)
	s.texts.use(mk, 1)
	return x
}

// update adds d to entry x.
func (s *MemoryState) update(x uint32, d *Delta, expires int64) {
	e := s.slab.at(x)
	e.bytes += d.Bytes
	e.head += d.Head
	e.packets += d.Packets
	e.count += d.Count
	e.first = min(e.first, d.First)
	e.last = max(e.last, d.Last)
	if len(d.Ports) > 0 {
		s.addPorts(x, d.Ports)
	}
	switch {
	case expires == 0 || e.expires < 0:
		e.expires = -1 // never
	default:
		e.expires = max(e.expires, expires)
	}
}

// mergePorts returns the sorted ports of old and add: old itself when add
// brings nothing new, else a new slice.
func mergePorts(old, add []uint16) []uint16 {
	var out []uint16
	for _, p := range add {
		src := old
		if out != nil {
			src = out
		}
		j, found := slices.BinarySearch(src, p)
		if found {
			continue
		}
		if out == nil {
			out = make([]uint16, len(old), len(old)+len(add))
			copy(out, old)
		}
		out = slices.Insert(out, j, p)
	}
	if out == nil {
		return old
	}
	return out
}

// addPorts adds ports to entry x's: in place while they fit.
func (s *MemoryState) addPorts(x uint32, ports []uint16) {
	e := s.slab.at(x)
	if e.nports > memPorts {
		a := s.aux[x]
		a.ports = mergePorts(a.ports, ports)
		return
	}
	for i, p := range ports {
		j, found := slices.BinarySearch(e.ports[:e.nports], p)
		if found {
			continue
		}
		if e.nports == memPorts {
			s.auxOf(x).ports = mergePorts(e.ports[:], ports[i:])
			e.nports = memPorts + 1
			return
		}
		copy(e.ports[j+1:e.nports+1], e.ports[j:e.nports])
		e.ports[j] = p
		e.nports++
	}
}

func (s *MemoryState) auxOf(x uint32) *memAux {
	e := s.slab.at(x)
	if e.aux {
		return s.aux[x]
	}
	e.aux = true
	a := &memAux{}
	s.aux[x] = a
	return a
}

// totals sets t to entry x's totals. Ports held in place are appended to
// buf (returned) for t.Ports.
func (s *MemoryState) totals(x uint32, t *Totals, buf []uint16) []uint16 {
	e := s.slab.at(x)
	*t = Totals{Bytes: e.bytes, Head: e.head, Packets: e.packets, Count: e.count, First: e.first, Last: e.last,
		Sent: e.sent, ClaimedUntil: e.claimedUntil}
	if e.aux {
		a := s.aux[x]
		t.ClaimedBy = a.claimedBy
		if e.nports > memPorts {
			t.Ports = a.ports
		}
	}
	if n := int(e.nports); n > 0 && n <= memPorts {
		at := len(buf)
		buf = append(buf, e.ports[:n]...)
		t.Ports = buf[at : at+n : at+n]
	}
	return buf
}
