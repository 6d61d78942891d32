package detect

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

func hashKey(k aggKey) uint64 {
	h := uint64(k.win)*0x9e3779b97f4a7c15 ^ k.src*0xc2b2ae3d27d4eb4f ^ (k.dst+uint64(k.det)+uint64(k.rule)<<8)*0x165667b19e3779f9
	return h ^ h>>29
}

func (m *aggIndex) find(k aggKey, aggs []agg) (int32, bool) {
	mask := uint64(len(m.slots) - 1)
	for h := hashKey(k) & mask; ; h = (h + 1) & mask {
		s := m.slots[h]
		if s == 0 {
			return 0, false
		}
		if aggs[s-1].key == k {
			return s - 1, true
		}
	}
}

// insert adds k (not present) at idx; aggs[:idx] hold the keys already in.
func (m *aggIndex) insert(k aggKey, idx int32, aggs []agg) {
	if (m.n+1)*2 > len(m.slots) {
		m.slots = make([]int32, len(m.slots)*2)
		mask := uint64(len(m.slots) - 1)
		for j := range aggs[:idx] {
			h := hashKey(aggs[j].key) & mask
			for m.slots[h] != 0 {
				h = (h + 1) & mask
			}
			m.slots[h] = int32(j) + 1
		}
	}
	mask := uint64(len(m.slots) - 1)
	h := hashKey(k) & mask
	for m.slots[h] != 0 {
		h = (h + 1) & mask
	}
	m.slots[h] = idx + 1
	m.n++
}
