package detect

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Key identifies one detector's counters for one key in one window.
type Key struct {
	Detector string
	Window   int64  // window start, Unix seconds
	Src      string // canonical address
	Dst      string // canonical address; "" for the reject detector (keyed by source)
	// Span is the window's length in seconds for exfiltration, whose
	// rules and hopping windows overlap; 0 for the tumbling detectors.
	Span int64
}

// String returns the key as a stable text, also used as DynamoDB partition
// key: "detector#window#src#dst", then "#span" when Span is set.
func (k Key) String() string {
	s := k.Detector + "#" + strconv.FormatInt(k.Window, 10) + "#" + k.Src + "#" + k.Dst
	if k.Span != 0 {
		s += "#" + strconv.FormatInt(k.Span, 10)
	}
	return s
}

// Delta is one batch's contribution to a key.
type Delta struct {
	Bytes, Packets, Count int64
	Head                  int64    // exfiltration: bytes in the window's first half
	First, Last           int64    // earliest start and latest end, Unix seconds
	Ports                 []uint16 // distinct destination ports; only kept for PortScan
}

// Update is a Delta for a Key, with the time (Unix seconds) after which the
// key's state may be forgotten (0: never).
type Update struct {
	Key     Key
	Delta   Delta
	Expires int64
}

// Totals is a key's state after an Apply.
type Totals struct {
	Bytes, Packets, Count int64
	Head                  int64 // exfiltration: bytes in the window's first half
	First, Last           int64
	Ports                 []uint16 // distinct ports, sorted (PortScan only)
	// Replayed is true when the batch had already been applied to the key,
	// which was left unchanged.
	Replayed bool
	// Sent is true once an alert for the key was acknowledged.
	Sent bool
	// ClaimedBy is the batch token that holds the alert claim, until
	// ClaimedUntil (Unix seconds; 0 = until acknowledged).
	ClaimedBy    string
	ClaimedUntil int64
}

// State keeps window counters between batches. Implementations must make
// Apply idempotent per (batch, key): applying the same batch token to a key
// a second time changes nothing and reports Replayed. Every method must be
// safe for concurrent use.
//
// Two implementations exist: MemoryState here, and DynamoDB in
// internal/detect/ddbstate. The Engine passes a batch token (a short hash of
// the batch ID), never the raw ID.
type State interface {
	// Apply adds each update's delta to its key unless batch was already
	// applied to that key, and returns the totals after, in the order of ups.
	// On error some updates may have been applied; applying the same batch
	// again completes the rest without counting any twice.
	Apply(ctx context.Context, batch string, now time.Time, ups []Update) ([]Totals, error)
	// Claim reserves the alert of key for batch until now+lease. It fails
	// (false, nil) when the alert was already sent, or is claimed by another
	// batch whose lease has not run out. The batch holding a claim may
	// claim again (a retried invocation).
	Claim(ctx context.Context, key Key, batch string, now time.Time, lease time.Duration) (bool, error)
	// Ack marks the alerts of keys as sent: never handed out again.
	Ack(ctx context.Context, keys []Key, now time.Time) error
}

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

// LeaseUntil is the ClaimedUntil of a claim taken at now: now+lease in Unix
// seconds, or 0 (held until acknowledged, never handed to another batch) when
// lease is 0.
func LeaseUntil(now time.Time, lease time.Duration) int64 {
	if lease <= 0 {
		return 0
	}
	return now.Add(lease).Unix()
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
