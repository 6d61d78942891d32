package detect

// findOrAdd returns the index in aggs of k's accumulator and false, or,
// when k has none, adds k to the index at len(aggs) (the caller appends
// its accumulator) and returns that and true: one probe sequence for both.
func (m *aggIndex) findOrAdd(k aggKey, aggs []agg) (int32, bool) {
	if (m.n+1)*2 > len(m.slots) { // the index grows first
		if idx, ok := m.find(k, aggs); ok {
			return idx, false
		}
		idx := int32(len(aggs))
		m.insert(k, idx, aggs)
		return idx, true
	}
	mask := uint64(len(m.slots) - 1)
	for h := hashKey(k) & mask; ; h = (h + 1) & mask {
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
