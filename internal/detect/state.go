package detect

import (
	"context"
	"slices"
	"strconv"
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
type MemoryState struct {
	mu        sync.Mutex
	m         map[Key]*memEntry
	batches   map[string]int64 // applied batch tokens -> expiry (-1: never)
	nextSweep int64
}

type memEntry struct {
	t       Totals
	ports   map[uint16]struct{}
	sorted  []uint16 // ports, sorted; nil when stale
	expires int64
}

// NewMemoryState returns an empty in-memory state.
func NewMemoryState() *MemoryState {
	return &MemoryState{m: make(map[Key]*memEntry), batches: make(map[string]int64)}
}

// Len returns the number of keys held.
func (s *MemoryState) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Apply implements State.
func (s *MemoryState) Apply(_ context.Context, batch string, now time.Time, ups []Update) ([]Totals, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now.Unix())
	out := make([]Totals, len(ups))
	if _, dup := s.batches[batch]; dup {
		for i := range ups {
			if e := s.m[ups[i].Key]; e != nil {
				out[i] = e.totals()
			}
			out[i].Replayed = true
		}
		return out, nil
	}
	var expires int64
	for i := range ups {
		u := &ups[i]
		e := s.m[u.Key]
		if e == nil {
			e = &memEntry{t: Totals{First: u.Delta.First, Last: u.Delta.Last}}
			s.m[u.Key] = e
		}
		d := &u.Delta
		e.t.Bytes += d.Bytes
		e.t.Head += d.Head
		e.t.Packets += d.Packets
		e.t.Count += d.Count
		e.t.First = min(e.t.First, d.First)
		e.t.Last = max(e.t.Last, d.Last)
		if len(d.Ports) > 0 {
			if e.ports == nil {
				e.ports = make(map[uint16]struct{}, len(d.Ports))
			}
			for _, p := range d.Ports {
				if _, ok := e.ports[p]; !ok {
					e.ports[p] = struct{}{}
					e.sorted = nil
				}
			}
		}
		switch {
		case u.Expires == 0 || e.expires < 0:
			e.expires = -1 // never
		default:
			e.expires = max(e.expires, u.Expires)
		}
		if expires >= 0 {
			if u.Expires == 0 {
				expires = -1
			} else {
				expires = max(expires, u.Expires)
			}
		}
		out[i] = e.totals()
	}
	s.batches[batch] = expires
	return out, nil
}

func (e *memEntry) totals() Totals {
	t := e.t
	if len(e.ports) > 0 && e.sorted == nil {
		e.sorted = make([]uint16, 0, len(e.ports))
		for p := range e.ports {
			e.sorted = append(e.sorted, p)
		}
		slices.Sort(e.sorted)
	}
	t.Ports = e.sorted
	return t
}

// sweep drops expired keys, at most once a minute of the given clock.
func (s *MemoryState) sweep(now int64) {
	if now < s.nextSweep {
		return
	}
	s.nextSweep = now + 60
	for k, e := range s.m {
		if e.expires > 0 && e.expires < now {
			delete(s.m, k)
		}
	}
	for b, exp := range s.batches {
		if exp > 0 && exp < now {
			delete(s.batches, b)
		}
	}
}

// Claim implements State.
func (s *MemoryState) Claim(_ context.Context, key Key, batch string, now time.Time, lease time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e == nil || e.t.Sent {
		return false, nil
	}
	if e.t.ClaimedBy != "" && e.t.ClaimedBy != batch && (e.t.ClaimedUntil == 0 || e.t.ClaimedUntil > now.Unix()) {
		return false, nil
	}
	e.t.ClaimedBy, e.t.ClaimedUntil = batch, LeaseUntil(now, lease)
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
	for _, k := range keys {
		if e := s.m[k]; e != nil {
			e.t.Sent = true
		}
	}
	return nil
}
