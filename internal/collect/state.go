package collect

import (
	"context"
	"sync"
	"time"

	"github.com/flowq/flowq/internal/detect"
)

// Claims keeps alert claims durably (*ddbstate.Ledger): Claim and Ack with
// detect.State's semantics.
type Claims interface {
	Claim(ctx context.Context, key detect.Key, batch string, now time.Time, lease time.Duration) (bool, error)
	Ack(ctx context.Context, keys []detect.Key, now time.Time) error
}

// holder is the batch the collector claims alerts as in Claims: one
// collector runs at a time, and a run retried after a crash must be able to
// take back the claims of the run that crashed, whatever its batches.
const holder = "collect"

// State is the detect.State of the collector: window counters in a
// detect.MemoryState that each run restores from its checkpoint, and alert
// claims also in Claims, so an alert published by a run that crashed
// before its checkpoint is not published again.
type State struct {
	claims Claims // nil: claims live in the checkpoint only

	mu  sync.Mutex
	mem *detect.MemoryState
}

var _ detect.State = (*State)(nil)

// NewState returns a State with durable claims in claims (may be nil).
func NewState(claims Claims) *State {
	return &State{claims: claims, mem: detect.NewMemoryState()}
}

// use makes m the state's counters (a run's restored checkpoint).
func (s *State) use(m *detect.MemoryState) {
	s.mu.Lock()
	s.mem = m
	s.mu.Unlock()
}

func (s *State) memory() *detect.MemoryState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mem
}

// Apply implements detect.State.
func (s *State) Apply(ctx context.Context, batch string, now time.Time, ups []detect.Update) ([]detect.Totals, error) {
	return s.memory().Apply(ctx, batch, now, ups)
}

// Claim implements detect.State: the durable claim first, then the
// memory's, which later batches of the run consult.
func (s *State) Claim(ctx context.Context, key detect.Key, batch string, now time.Time, lease time.Duration) (bool, error) {
	if s.claims != nil {
		ok, err := s.claims.Claim(ctx, key, holder, now, 0)
		if err != nil {
			return false, err
		}
		if !ok {
			// Sent already (by a run that crashed before its checkpoint)
			// or claimed by the CloudWatch Logs path: remember it, so the
			// key's later batches do not ask again.
			return false, s.memory().Ack(ctx, []detect.Key{key}, now)
		}
	}
	return s.memory().Claim(ctx, key, batch, now, lease)
}

// Ack implements detect.State.
func (s *State) Ack(ctx context.Context, keys []detect.Key, now time.Time) error {
	if s.claims != nil {
		if err := s.claims.Ack(ctx, keys, now); err != nil {
			return err
		}
	}
	return s.memory().Ack(ctx, keys, now)
}
