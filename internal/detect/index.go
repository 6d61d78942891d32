package detect

import "math/bits"

// aggIndex maps aggKeys to indexes of Engine.aggs: open addressing with
// linear probing, cheaper than a Go map for these fixed-size keys.
type aggIndex struct {
	slots []int32 // index+1; 0 is empty
	n     int
}

func (m *aggIndex) reset() {
	if len(m.slots) == 0 {
		m.slots = make([]int32, 1024)
	}
	if m.n > 0 {
		clear(m.slots)
	}
	m.n = 0
}

// aggHash hashes an accumulator's key for aggIndex: every input bit
// reaches the low bits the index masks.
func aggHash(k aggKey) uint64 {
	hi, lo := bits.Mul64(uint64(k.win)^k.src*0x9e3779b97f4a7c15, k.dst^(uint64(k.det)|uint64(k.rule)<<8)^0xc2b2ae3d27d4eb4f)
	return hi ^ lo
}

// findOrAdd returns the index in aggs of k's accumulator and false, or,
// when k has none, adds k to the index at len(aggs) (the caller appends
// its accumulator) and returns that and true: one probe sequence for both.
func (m *aggIndex) findOrAdd(k aggKey, aggs []agg) (int32, bool) {
	if (m.n+1)*2 > len(m.slots) { // grow first
		m.slots = make([]int32, len(m.slots)*2)
		mask := uint64(len(m.slots) - 1)
		for j := range aggs {
			h := aggHash(aggs[j].key) & mask
			for m.slots[h] != 0 {
				h = (h + 1) & mask
			}
			m.slots[h] = int32(j) + 1
		}
	}
	mask := uint64(len(m.slots) - 1)
	for h := aggHash(k) & mask; ; h = (h + 1) & mask {
		s := m.slots[h]
		if s == 0 {
			idx := int32(len(aggs))
			m.slots[h] = idx + 1
			m.n++
			return idx, true
		}
		if aggs[s-1].key == k {
			return s - 1, false
		}
	}
}
