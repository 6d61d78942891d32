package detect

import (
	"context"
	"strconv"
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

// LeaseUntil is the ClaimedUntil of a claim taken at now: now+lease in Unix
// seconds, or 0 (held until acknowledged, never handed to another batch) when
// lease is 0.
func LeaseUntil(now time.Time, lease time.Duration) int64 {
	if lease <= 0 {
		return 0
	}
	return now.Add(lease).Unix()
}
