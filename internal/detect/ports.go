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

// aggIndex maps aggKeys to indexes of Engine.aggs: open addressing with
