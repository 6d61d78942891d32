package detect

import "math/bits"

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

// pairCache remembers, for a batch, the accumulator of recent port-scan
// keys between two IPv4 addresses: direct-mapped by the address pair, so a
// record of a pair seen before finds its accumulator with one probe and no
// call. Entries of earlier batches are told apart by gen.
type pairCache struct {
	entries [1 << pairBits]pairEntry
	gen     uint32 // the current batch's; entries of others are stale
}

const pairBits = 10

type pairEntry struct {
	pair uint64 // src<<32 | dst
	win  int64
	gen  uint32
	idx  int32
}

// next starts a batch: every entry is stale.
func (p *pairCache) next() {
	p.gen++
	if p.gen == 0 { // wrapped: entries of 2^32 batches ago would look current
		p.entries = [1 << pairBits]pairEntry{}
		p.gen = 1
	}
}
