package detect

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// memIndex finds MemoryState entries by key: open addressing with linear
// probing over one word per slot (a tag from the key's hash and the
// entry's index), the keys themselves in the entries. Compared with a Go
// map it reaches an entry with one miss fewer, grows by rehashing words
// from the hashes the entries keep, and never moves a key.
type memIndex struct {
	slots []uint64 // tag<<32 | index+1; 0 is empty
	n     int
	seed  uint64 // keys come from the network: a random seed keeps collisions unforeseeable
}

func newMemIndex() memIndex {
	return memIndex{slots: make([]uint64, 1024), seed: rand.Uint64() | 1}
}

// hash returns the hash of k under the index's seed.
func (m *memIndex) hash(k *memKey) uint64 {
	h := m.seed
	for _, w := range [...]uint64{binary.LittleEndian.Uint64(k.src[:8]), binary.LittleEndian.Uint64(k.src[8:]),
		binary.LittleEndian.Uint64(k.dst[:8]), binary.LittleEndian.Uint64(k.dst[8:]),
		uint64(k.win), uint64(k.span), uint64(k.det)<<8 | uint64(k.kinds)} {
		h = (bits.RotateLeft64(h, 23) ^ w) * 0x9e3779b97f4a7c15
	}
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

// find returns the index of k's entry, whose hash is h.
func (m *memIndex) find(k *memKey, h uint64, slab *memSlab) (uint32, bool) {
	mask := uint64(len(m.slots) - 1)
	tag := h >> 32
	for i := h & mask; ; i = (i + 1) & mask {
		s := m.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 == tag {
			if x := uint32(s) - 1; slab.at(x).key == *k {
				return x, true
			}
		}
	}
}

// insert adds entry x, whose key (not in the index) hashes to h.
func (m *memIndex) insert(h uint64, x uint32, slab *memSlab) {
	if (m.n+1)*2 > len(m.slots) {
		m.rebuild(slab, len(m.slots)*2)
	}
	m.place(h, x)
	m.n++
}

func (m *memIndex) place(h uint64, x uint32) {
	mask := uint64(len(m.slots) - 1)
	i := h & mask
	for m.slots[i] != 0 {
		i = (i + 1) & mask
	}
	m.slots[i] = h>>32<<32 | uint64(x+1)
}

// rebuild indexes the live entries afresh in size slots (a power of two).
func (m *memIndex) rebuild(slab *memSlab, size int) {
	if cap(m.slots) >= size {
		m.slots = m.slots[:size]
		clear(m.slots)
	} else {
		m.slots = make([]uint64, size)
	}
	m.n = 0
	for x := range uint32(slab.n) {
		if e := slab.at(x); e.live {
			m.place(e.hash, x)
			m.n++
		}
	}
}

// memSlab holds MemoryState's entries in chunks: growing never moves one.
type memSlab struct {
	chunks [][]memEntry // each 1<<slabBits long
	n      int          // entries made (in use or free)
}

const slabBits = 10

func (b *memSlab) at(x uint32) *memEntry { return &b.chunks[x>>slabBits][x&(1<<slabBits-1)] }

// grow makes a new entry and returns its index.
func (b *memSlab) grow() uint32 {
	if b.n == len(b.chunks)<<slabBits {
		b.chunks = append(b.chunks, make([]memEntry, 1<<slabBits))
	}
	b.n++
	return uint32(b.n - 1)
}
