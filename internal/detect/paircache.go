package detect

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
