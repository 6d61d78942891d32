package detect

import (
	"context"
	"strings"
	"sync"
	"time"
)

// MemoryState is the in-memory State: the embedded default for flowq detect
// and tests. It forgets keys after their Expires time.
//
// An Apply here is all or nothing (nothing can fail half-way), so it
// remembers applied batches as a whole rather than per key.
//
// Entries live by value in a slab, found through a map of compact keys
// (memKey): no allocation per key, nothing for the garbage collector to
// scan. The Engine applies its updates by compact key directly.
type MemoryState struct {
	mu        sync.Mutex
	index     memIndex
	slab      memSlab
	free      []uint32           // unused indices of entries
	aux       map[uint32]*memAux // ports and claims, by index in entries
	texts     texts              // detector names and non-address texts
	batches   map[string]int64   // applied batch tokens -> expiry (-1: never)
	nextSweep int64
	calls     uint32   // applyKeys calls
	found     []uint64 // applyKeys' scratch: hashes, then entry indices
	touch     uint64   // applyKeys' reads of slots, kept so they are not optimised away
}

type memEntry struct {
	key                         memKey
	hash                        uint64 // key's (memIndex.hash)
	bytes, head, packets, count int64
	first, last                 int64
	claimedUntil                int64
	expires                     int64 // -1: never
	ports                       [memPorts]uint16
	nports                      uint8  // ports held in ports, sorted; memPorts+1: in the memAux
	sent, aux                   bool   // aux: the entry has a memAux
	live                        bool   // false: free (in MemoryState.free)
	call                        uint32 // the applyKeys call that last found it
	pending                     uint32 // and how many of its updates it has yet to add
}

// memPorts is the number of ports an entry holds in place (a port scan's
// key holds the ports of the pair: mostly one or two).
const memPorts = 4

// memAux holds what few entries have: more than memPorts ports, and a
// claim.
type memAux struct {
	ports     []uint16 // sorted; replaced, never changed in place (Totals share it)
	claimedBy string
}

// memUpdate is an Update by compact key.
type memUpdate struct {
	key     memKey
	delta   Delta
	expires int64
}

// NewMemoryState returns an empty in-memory state.
func NewMemoryState() *MemoryState {
	return &MemoryState{index: newMemIndex(), aux: make(map[uint32]*memAux), texts: newTexts(),
		batches: make(map[string]int64)}
}

// Len returns the number of keys held.
func (s *MemoryState) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index.n
}

// Apply implements State.
func (s *MemoryState) Apply(_ context.Context, batch string, now time.Time, ups []Update) ([]Totals, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now.Unix())
	out := make([]Totals, len(ups))
	var ports []uint16 // the Totals' ports, theirs to keep
	if _, dup := s.batches[batch]; dup {
		for i := range ups {
			if mk, ok := s.texts.encode(&ups[i].Key, false); ok {
				if x, ok := s.index.find(&mk, s.index.hash(&mk), &s.slab); ok {
					ports = s.totals(x, &out[i], ports)
				}
			}
			out[i].Replayed = true
		}
		return out, nil
	}
	var expires int64
	for i := range ups {
		u := &ups[i]
		mk, _ := s.texts.encode(&u.Key, true)
		ports = s.totals(s.add(&mk, &u.Delta, u.Expires), &out[i], ports)
		expires = batchExpiry(expires, u.Expires)
	}
	s.batches[batch] = expires
	return out, nil
}

// batchExpiry folds an update's expiry into its batch's: the latest, or
// -1 (never) once any update never expires.
func batchExpiry(batch, up int64) int64 {
	switch {
	case batch < 0:
		return batch
	case up == 0:
		return -1
	}
	return max(batch, up)
}

// sweep drops expired keys, at most once a minute of the given clock.
func (s *MemoryState) sweep(now int64) {
	if now < s.nextSweep {
		return
	}
	s.nextSweep = now + 60
	dropped := false
	for x := range uint32(s.slab.n) {
		if e := s.slab.at(x); e.live && e.expires > 0 && e.expires < now {
			s.drop(x)
			dropped = true
		}
	}
	if dropped {
		size := len(s.index.slots)
		for size > 1024 && s.index.n*8 < size {
			size /= 2
		}
		s.index.rebuild(&s.slab, size)
	}
	for b, exp := range s.batches {
		if exp > 0 && exp < now {
			delete(s.batches, b)
		}
	}
}

// drop forgets entry x; the caller rebuilds the index.
func (s *MemoryState) drop(x uint32) {
	e := s.slab.at(x)
	if e.aux {
		delete(s.aux, x)
	}
	s.texts.use(&e.key, -1)
	*e = memEntry{}
	s.free = append(s.free, x)
}

// find returns the index of key's entry.
func (s *MemoryState) find(key *Key) (uint32, bool) {
	mk, ok := s.texts.encode(key, false)
	if !ok {
		return 0, false
	}
	return s.index.find(&mk, s.index.hash(&mk), &s.slab)
}

// Claim implements State.
func (s *MemoryState) Claim(_ context.Context, key Key, batch string, now time.Time, lease time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.find(&key)
	if !ok || s.slab.at(x).sent {
		return false, nil
	}
	e := s.slab.at(x)
	var by string
	if e.aux {
		by = s.aux[x].claimedBy
	}
	if by != "" && by != batch && (e.claimedUntil == 0 || e.claimedUntil > now.Unix()) {
		return false, nil
	}
	s.auxOf(x).claimedBy = strings.Clone(batch)
	e.claimedUntil = LeaseUntil(now, lease)
	return true, nil
}

// Ack implements State.
func (s *MemoryState) Ack(_ context.Context, keys []Key, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range keys {
		if x, ok := s.find(&keys[i]); ok {
			s.slab.at(x).sent = true
		}
	}
	return nil
}

// put sets key's entry and its ports and claim (a snapshot's), replacing
// any entry key had.
func (s *MemoryState) put(key *Key, e memEntry, a memAux) {
	mk, _ := s.texts.encode(key, true)
	x := s.add(&mk, &Delta{}, -1)
	if s.slab.at(x).aux {
		delete(s.aux, x)
	}
	if n := len(a.ports); n <= memPorts {
		e.nports = uint8(copy(e.ports[:], a.ports))
		a.ports = nil
	} else {
		e.nports = memPorts + 1
	}
	e.aux = len(a.ports) > 0 || a.claimedBy != ""
	old := s.slab.at(x)
	e.key, e.hash, e.live = old.key, old.hash, true
	*old = e
	if e.aux {
		s.aux[x] = &a
	}
}
