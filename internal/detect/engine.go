package detect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/flowq/flowq/internal/render"
)

// Summary counts what an Engine has seen. Every moving thing has a counter.
type Summary struct {
	Batches  int64 `json:"batches"`
	Records  int64 `json:"records"`
	Skipped  int64 `json:"skipped"`  // NODATA and SKIPDATA records
	Unusable int64 `json:"unusable"` // no start time, no address, or an address that does not parse
	Late     int64 `json:"late"`     // records of windows older than Config.Retention
	// Replayed counts keys a batch had already contributed to (replays and
	// retries), left unchanged.
	Replayed int64 `json:"replayed"`
	// Rejects counts the REJECT records judged by the reject detector.
	Rejects int64 `json:"rejects"`
	// InboundRejects counts REJECT records whose source is outside the reject
	// scope (by default: from the internet); they are not alerted.
	InboundRejects int64 `json:"inbound_rejects"`
	// AllowedRejects counts REJECT records from the scope that the
	// destination scope, port filters or allowlists left out.
	AllowedRejects int64 `json:"allowed_rejects"`
	// Keys counts the window keys updated in state.
	Keys int64 `json:"keys"`
	// Alerts counts the alerts handed out, by detector.
	Alerts map[string]int64 `json:"alerts"`
}

// Engine runs the detectors over record batches, keeping window counters in
// a State. It is safe for concurrent use; batches are processed one at a
// time.
type Engine struct {
	cfg   Config
	st    State
	now   func() time.Time
	win   int64 // window, seconds
	ret   int64 // retention, seconds
	exfil bool
	rej   bool
	scan  bool
	rules []exfilRule // exfiltration rules; windows in seconds

	mem *MemoryState // st, when it is one: applied by compact key

	resolver Resolver     // nil: alerts name no resources
	log      *slog.Logger // late records and other notices

	rejPorts, rejAllowPorts *portMask

	mu      sync.Mutex
	sum     Summary
	addrs   addrTable
	aggs    []agg
	index   aggIndex
	pairs   pairCache // of the port-scan keys
	scratch scratch
	mask    []uint64 // per row of the batch: core columns all valid (coreMask)
	srcIDs  []uint64 // per row of the batch: source address ID
	srcFlag []uint16 // and memberships; srcBad marks no usable source
	dstIDs  []uint64 // per candidate row: destination address ID
	dstFlag []uint16 // and memberships (srcBad: none usable)
	wins    []int64  // and window start
	rows    rowLists // the candidate rows, and the rows each detector counts
	mups    []memUpdate
	brief   []memTotals
	early   []earlyTotals
	ports   []uint16    // the batch's port-scan deltas' ports
	vals    []rowValues // the exfiltration rows' values (gather)
	scanIdx []int32     // the port-scan rows' accumulators

	portArena arena[uint16]
	rowArena  arena[int32]
	tryArena  arena[portTry]

	lateSample string // the last batch's first late record, for the log
}

// srcBad in Engine.srcFlag marks a row without a usable source address.
const srcBad uint16 = 1 << 15

// exfilRule is one exfiltration rule, its window in seconds.
type exfilRule struct {
	bytes, win int64
	text       string // "1 MB in 1h"
}

// New returns an Engine for cfg, keeping state in st and reading the time
// from now (time.Now if nil).
func New(cfg Config, st State, now func() time.Time, opts ...Option) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("detect config: %w", err)
	}
	if st == nil {
		return nil, errors.New("detect: nil state")
	}
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		cfg: cfg, st: st, now: now,
		win:   int64(cfg.Window / time.Second),
		ret:   int64(cfg.Retention / time.Second),
		exfil: cfg.Enabled(Exfiltration),
		rej:   cfg.Enabled(Reject),
		scan:  cfg.Enabled(PortScan),
		sum:   Summary{Alerts: make(map[string]int64)},
		log:   slog.New(slog.DiscardHandler),
	}
	for _, r := range cfg.ExfilRules() {
		e.rules = append(e.rules, exfilRule{bytes: r.Bytes, win: int64(r.Window / time.Second),
			text: render.Bytes(r.Bytes) + " in " + shortDuration(r.Window)})
	}
	for _, o := range opts {
		o(e)
	}
	e.rejPorts = newPortMask(cfg.RejectPorts)
	e.rejAllowPorts = newPortMask(cfg.RejectAllowPorts)
	e.addrs = newAddrTable(&e.cfg)
	e.mem, _ = st.(*MemoryState)
	return e, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// Summary returns the counters so far.
func (e *Engine) Summary() Summary {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sum
	s.Alerts = make(map[string]int64, len(e.sum.Alerts))
	for k, v := range e.sum.Alerts {
		s.Alerts[k] = v
	}
	return s
}

// BatchToken returns the short token that stands for a batch ID in State.
func BatchToken(batchID string) string {
	h := sha256.Sum256([]byte(batchID))
	return hex.EncodeToString(h[:8])
}

// detector indices in aggKey.
const (
	detExfil uint8 = iota
	detReject
	detScan
)

var detNames = [...]string{Exfiltration, Reject, PortScan}

// noAddr is the dst of reject keys (keyed by source only).
const noAddr = ^uint64(0)

// aggKey identifies a key within a batch. Addresses are address IDs: an
// IPv4 address as its 32-bit value, any other as v6Bit | its index in the
// address table.
type aggKey struct {
	win      int64
	src, dst uint64
	det      uint8
	rule     uint8 // exfiltration: index in Engine.rules
}

// agg accumulates one key's records within a batch.
type agg struct {
	key                   aggKey
	until                 int64 // the window's end: key.win + Engine.span(key)
	bytes, packets, count int64
	head                  int64 // exfiltration: bytes in the window's first half
	first, last           int64
	ports                 portSet
	ev                    []int32 // rows of the largest records, up to Config.Evidence
	tries                 portTries
	probes                probes // port scan: what State counts (scanProbes)
}

// probes sums a port scan's probe records within a batch.
type probes struct {
	bytes, packets, count int64
	first, last           int64
}

// Process runs the detectors over one batch and returns the alerts that
// became due because of it, sorted by window, detector, source and
// destination. batchID must identify the batch's records exactly and be the
// same every time they are delivered (the Lambda uses
// logGroup/logStream/firstEventID, plus the index of the record batch when a
// payload parses into several); State uses it to count each batch once per
// key. Call Ack once the alerts are delivered.
//
// The record batch needs srcaddr, dstaddr and start; every other column is
// optional (a record without bytes counts as 0 bytes). A batch without them
// fails with an error wrapping ErrColumns, which a retry cannot fix. The
// batch is only read during the call: alerts own their strings, so the
// caller may release or recycle the batch's buffers afterwards.
func (e *Engine) Process(ctx context.Context, batchID string, rec arrow.RecordBatch) ([]Alert, error) {
	return e.process(ctx, batchID, rec, nil, 0)
}

// process is Process leaving out the rows set in skip (a bitmap over the
// batch's rows, nil for none; skipped of them), as if the batch did not
// hold them.
func (e *Engine) process(ctx context.Context, batchID string, rec arrow.RecordBatch, skip []uint64, skipped int64) ([]Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scratch.reset()
	cols, err := bindColumns(rec, &e.scratch)
	if err != nil {
		return nil, err
	}
	now := e.now()
	token := BatchToken(batchID)
	e.sum.Batches++
	e.sum.Records += rec.NumRows() - skipped
	lateBefore := e.sum.Late
	e.aggregate(&cols, int(rec.NumRows()), now.Unix(), skip)
	if late := e.sum.Late - lateBefore; late > 0 {
		e.log.WarnContext(ctx, "late records not judged: their window's state may be gone", "records", late,
			"retention", e.cfg.Retention.String(), "sample", e.lateSample)
	}
	if len(e.aggs) == 0 {
		return nil, nil
	}
	totals, err := e.apply(ctx, token, now)
	if err != nil {
		return nil, err
	}
	e.sum.Keys += int64(len(e.aggs))
	var alerts []Alert
	for i := range e.aggs {
		k := e.aggs[i].key
		var t *Totals
		if totals != nil {
			t = &totals[i]
			if t.Replayed {
				e.sum.Replayed++
			}
			if !e.due(k, t.Bytes, t.Head, t.Count, len(t.Ports)) || t.Sent {
				continue
			}
		} else { // a MemoryState: the brief totals, then the full ones of a due key
			b := &e.brief[i]
			if b.replayed {
				e.sum.Replayed++
			}
			if !e.due(k, b.bytes, b.head, b.count, int(b.nports)) || b.sent {
				continue
			}
			full, ok := e.fullTotals(i)
			if !ok {
				continue
			}
			full.Replayed = b.replayed
			t = &full
		}
		if t.ClaimedBy != "" && t.ClaimedBy != token && (t.ClaimedUntil == 0 || t.ClaimedUntil > now.Unix()) {
			continue // another batch holds it
		}
		key := e.key(e.aggs[i].key)
		ok, err := e.st.Claim(ctx, key, token, now, e.cfg.ClaimLease)
		if err != nil {
			return nil, fmt.Errorf("claim alert %s: %w", key, err)
		}
		if !ok {
			continue
		}
		alerts = append(alerts, e.alert(&cols, &e.aggs[i], key, t))
	}
	slices.SortFunc(alerts, func(a, b Alert) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(detOrder(a.Detector), detOrder(b.Detector)),
			strings.Compare(a.Src, b.Src), strings.Compare(a.Dst, b.Dst), a.WindowEnd.Compare(b.WindowEnd))
	})
	for _, a := range alerts {
		e.sum.Alerts[a.Detector]++
	}
	return alerts, nil
}

// Ack records that alerts were delivered: they are never handed out again.
func (e *Engine) Ack(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	keys := make([]Key, len(alerts))
	for i := range alerts {
		keys[i] = alerts[i].Key()
	}
	if err := e.st.Ack(ctx, keys, e.now()); err != nil {
		return fmt.Errorf("ack alerts: %w", err)
	}
	return nil
}

// WithLogger logs notices (late records, with a sample) to log.
func WithLogger(log *slog.Logger) Option {
	return func(e *Engine) {
		if log != nil {
			e.log = log
		}
	}
}

// shortDuration renders 1h0m0s as 1h and 90m0s as 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	if d%(24*time.Hour) == 0 && d > 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return s
}

func detOrder(d string) int { return slices.Index(allDetectors[:], d) }

// due reports whether a key's totals make an alert. An exfiltration
// window (two halves of the rule's window) is due when its bytes cross the
// rule, unless its first half alone does and its second half does not: the
// window before, which ends with that half, reports those bytes. So each
// transfer is reported once, by the first window that holds it.
func (e *Engine) due(k aggKey, bytes, head, count int64, ports int) bool {
	switch k.det {
	case detExfil:
		r := e.rules[k.rule]
		return bytes > r.bytes && (head <= r.bytes || bytes-head > r.bytes)
	case detReject:
		return count >= e.cfg.RejectThreshold
	case detScan:
		return ports >= e.cfg.ScanPorts
	}
	return false
}

// threshold returns what a key's detector compares against.
func (e *Engine) threshold(k aggKey) int64 {
	switch k.det {
	case detExfil:
		return e.rules[k.rule].bytes
	case detReject:
		return e.cfg.RejectThreshold
	}
	return int64(e.cfg.ScanPorts)
}

// span returns the length of a key's window in seconds: twice the rule's
// window for exfiltration (hopping windows), the window otherwise.
func (e *Engine) span(k aggKey) int64 {
	if k.det == detExfil {
		return 2 * e.rules[k.rule].win
	}
	return e.win
}

func (e *Engine) key(k aggKey) Key {
	out := Key{Detector: detNames[k.det], Window: k.win, Src: e.addrs.canon(k.src)}
	if k.det == detExfil {
		out.Span = e.span(k)
	}
	if k.dst != noAddr {
		out.Dst = e.addrs.canon(k.dst)
	}
	return out
}
