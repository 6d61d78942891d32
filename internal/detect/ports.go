package detect

import (
	"slices"
)

// portMask is a set of ports; nil is "no list given".
type portMask [1 << 16 / 64]uint64

func newPortMask(rs []PortRange) *portMask {
	if len(rs) == 0 {
		return nil
	}
	m := new(portMask)
	for _, r := range rs {
		for p := int(r.Lo); p <= int(r.Hi); p++ {
			m[p/64] |= 1 << (p % 64)
		}
	}
	return m
}

// has reports whether port is in the set; a nil set or an unknown port (-1)
// answers ifNone.
func (m *portMask) has(port int, ifNone bool) bool {
	if m == nil || port < 0 {
		return ifNone
	}
	return m[port/64]&(1<<(port%64)) != 0
}

// portSet collects distinct ports: a slice while small, then a map.
type portSet struct {
	small []uint16
	big   map[uint16]struct{}
}

func (s portSet) reset() portSet {
	return portSet{small: s.small[:0]}
}

// add puts p in the set (while it holds fewer than limit ports) and reports
// whether p was new.
func (s *portSet) add(p uint16, limit int) bool {
	if s.big != nil {
		if _, ok := s.big[p]; ok || len(s.big) >= limit {
			return false
		}
		s.big[p] = struct{}{}
		return true
	}
	if slices.Contains(s.small, p) || len(s.small) >= limit {
		return false
	}
	if len(s.small) < 32 {
		s.small = append(s.small, p)
		return true
	}
	s.big = make(map[uint16]struct{}, 64)
	for _, q := range s.small {
		s.big[q] = struct{}{}
	}
	s.big[p] = struct{}{}
	return true
}

func (s *portSet) list() []uint16 {
	if s.big == nil {
		if len(s.small) == 0 {
			return nil
		}
		out := slices.Clone(s.small)
		slices.Sort(out)
		return out
	}
	out := make([]uint16, 0, len(s.big))
	for p := range s.big {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// maxProbeTries is the most tries of one port that are a scan's probes (a
// try and a retry): a port the pair uses more often within a batch, such as
// a database's, is ordinary traffic beside the scan. The port-scan query
// applies the same test over its window.
const maxProbeTries = 2

// portTries counts a port-scan key's tries of each port within a batch,
// in order of first try, with the rows of the first maxProbeTries.
type portTries struct {
	list []portTry
	idx  map[uint16]int32 // port → index in list, once the list is long
}

type portTry struct {
	port uint16
	n    int32
	rows [maxProbeTries]int32
}

func (t portTries) reset() portTries {
	clear(t.idx)
	return portTries{list: t.list[:0], idx: t.idx}
}

// add counts a try of port at row.
func (t *portTries) add(port uint16, row int32) {
	k := -1
	if t.idx != nil {
		if j, ok := t.idx[port]; ok {
			k = int(j)
		}
	} else {
		for j := range t.list {
			if t.list[j].port == port {
				k = j
				break
			}
		}
	}
	if k < 0 {
		t.list = append(t.list, portTry{port: port})
		k = len(t.list) - 1
		switch {
		case t.idx != nil:
			t.idx[port] = int32(k)
		case len(t.list) > 16:
			t.idx = make(map[uint16]int32, 64)
			for j, p := range t.list {
				t.idx[p.port] = int32(j)
			}
		}
	}
	p := &t.list[k]
	if p.n < maxProbeTries {
		p.rows[p.n] = row
	}
	p.n++
}
