package detect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/parse"
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

	rejPorts, rejAllowPorts *portMask

	mu      sync.Mutex
	sum     Summary
	addrs   addrTable
	aggs    []agg
	index   aggIndex
	scratch scratch
	mask    []uint64 // per row of the batch: core columns all valid (coreMask)
	srcIDs  []uint64 // per row of the batch: source address ID
	srcFlag []uint16 // and memberships; srcBad marks no usable source
}

// srcBad in Engine.srcFlag marks a row without a usable source address.
const srcBad uint16 = 1 << 15

// New returns an Engine for cfg, keeping state in st and reading the time
// from now (time.Now if nil).
func New(cfg Config, st State, now func() time.Time) (*Engine, error) {
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
		exfil: cfg.enabled(Exfiltration),
		rej:   cfg.enabled(Reject),
		scan:  cfg.enabled(PortScan),
		sum:   Summary{Alerts: make(map[string]int64)},
	}
	e.rejPorts = newPortMask(cfg.RejectPorts)
	e.rejAllowPorts = newPortMask(cfg.RejectAllowPorts)
	e.addrs = newAddrTable(&e.cfg)
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
}

// agg accumulates one key's records within a batch.
type agg struct {
	key                   aggKey
	bytes, packets, count int64
	first, last           int64
	ports                 portSet
	ev                    []int32 // rows of the largest records, up to Config.Evidence
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
	e.sum.Records += rec.NumRows()
	e.aggregate(&cols, int(rec.NumRows()), now.Unix())
	if len(e.aggs) == 0 {
		return nil, nil
	}
	ups := make([]Update, len(e.aggs))
	for i := range e.aggs {
		a := &e.aggs[i]
		ups[i] = Update{Key: e.key(a.key), Delta: Delta{Bytes: a.bytes, Packets: a.packets, Count: a.count, First: a.first, Last: a.last}}
		if a.key.det == detScan {
			ups[i].Delta.Ports = a.ports.list()
		}
		if e.ret > 0 {
			ups[i].Expires = a.key.win + e.win + e.ret
		}
	}
	totals, err := e.st.Apply(ctx, token, now, ups)
	if err != nil {
		return nil, fmt.Errorf("apply batch to state: %w", err)
	}
	if len(totals) != len(ups) {
		return nil, fmt.Errorf("apply batch to state: %d totals for %d keys", len(totals), len(ups))
	}
	e.sum.Keys += int64(len(ups))
	var alerts []Alert
	for i := range ups {
		t := &totals[i]
		if t.Replayed {
			e.sum.Replayed++
		}
		if !e.due(ups[i].Key.Detector, t) || t.Sent {
			continue
		}
		if t.ClaimedBy != "" && t.ClaimedBy != token && (t.ClaimedUntil == 0 || t.ClaimedUntil > now.Unix()) {
			continue // another batch holds it
		}
		ok, err := e.st.Claim(ctx, ups[i].Key, token, now, e.cfg.ClaimLease)
		if err != nil {
			return nil, fmt.Errorf("claim alert %s: %w", ups[i].Key, err)
		}
		if !ok {
			continue
		}
		alerts = append(alerts, e.alert(&cols, &e.aggs[i], ups[i].Key, t))
	}
	slices.SortFunc(alerts, func(a, b Alert) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(detOrder(a.Detector), detOrder(b.Detector)),
			strings.Compare(a.Src, b.Src), strings.Compare(a.Dst, b.Dst))
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

func detOrder(d string) int { return slices.Index(allDetectors[:], d) }

func (e *Engine) due(detector string, t *Totals) bool {
	switch detector {
	case Exfiltration:
		return t.Bytes > e.cfg.ExfilBytes
	case Reject:
		return t.Count >= e.cfg.RejectThreshold
	case PortScan:
		return len(t.Ports) >= e.cfg.ScanPorts
	}
	return false
}

func (e *Engine) key(k aggKey) Key {
	out := Key{Detector: detNames[k.det], Window: k.win, Src: e.addrs.canon(k.src)}
	if k.dst != noAddr {
		out.Dst = e.addrs.canon(k.dst)
	}
	return out
}

// aggregate runs the per-record rules over the batch into e.aggs.
func (e *Engine) aggregate(c *columns, n int, now int64) {
	if len(e.addrs.info) > maxAddrs {
		e.addrs.reset()
	}
	e.aggs = e.aggs[:0]
	e.index.reset()
	cfg := &e.cfg
	w, ret := e.win, e.ret
	anyPair, awsSvc := cfg.ExfilAnyPair, cfg.ExfilAWSServices
	exfil, rej, scan := e.exfil, e.rej, e.scan
	curWin := int64(math.MinInt64 / 2)
	// Counters live in locals during the loop.
	var skipped, unusable, late, inbound, allowed, rejects int64
	defer func() {
		e.sum.Skipped += skipped
		e.sum.Unusable += unusable
		e.sum.Late += late
		e.sum.InboundRejects += inbound
		e.sum.AllowedRejects += allowed
		e.sum.Rejects += rejects
	}()
	// Look up every row's source first, in a tight loop over the address
	// columns alone.
	if cap(e.srcIDs) < n {
		e.srcIDs, e.srcFlag = make([]uint64, n), make([]uint16, n)
	}
	sids, sflags := e.srcIDs[:n], e.srcFlag[:n]
	for i := range n {
		var src string
		switch {
		case c.pktSrc.IsValid(i):
			src = c.pktSrc.Value(i)
		case c.src.IsValid(i):
			src = c.src.Value(i)
		default:
			sflags[i] = srcBad
			continue
		}
		id, f, ok := e.addrs.lookup(src)
		if !ok {
			f = srcBad
		}
		sids[i], sflags[i] = id, f
	}
	mask := coreMask(c, n, &e.mask)
	for i := range n {
		if c.status.IsValid(i) && c.status.offs[i+1]-c.status.offs[i] != 2 { // not "OK"
			if s := c.status.Value(i); s != parse.StatusOK {
				if s == parse.StatusNoData || s == parse.StatusSkipData {
					skipped++
				} else {
					unusable++
				}
				continue
			}
		}
		core := mask[i>>6]>>(i&63)&1 != 0 // the core columns are all valid
		if !core && (!c.start.valid(i) || !c.src.IsValid(i) || !c.dst.IsValid(i)) {
			unusable++
			continue
		}
		start := c.start.value(i)
		if start < curWin || start >= curWin+w { // records of a batch mostly share a window
			curWin = start - start%w
			if start < 0 && start%w != 0 {
				curWin -= w
			}
		}
		win := curWin
		if ret > 0 && win+w+ret < now {
			late++
			continue
		}
		si, sf := sids[i], sflags[i]
		if sf == srcBad {
			unusable++
			continue
		}
		reject := false
		if core || c.action.IsValid(i) { // ACCEPT or REJECT: the first byte tells
			v := c.action.Value(i)
			reject = len(v) == len(parse.ActionReject) && v[0] == 'R' && v == parse.ActionReject
		}
		if sf&(fWatch|fRejectSrc|fScanSrc) == 0 && !anyPair {
			// From outside every scope (the internet): no detector needs
			// the destination.
			if reject && rej {
				inbound++
			}
			continue
		}
		var dst string
		if c.pktDst.IsValid(i) {
			dst = c.pktDst.Value(i)
		} else {
			dst = c.dst.Value(i)
		}
		di, df, ok := e.addrs.lookup(dst)
		if !ok {
			unusable++
			continue
		}

		if exfil && !reject &&
			(anyPair || sf&fWatch != 0 && df&fWatch == 0) &&
			df&fExfilAllow == 0 && sf&fExfilAllowSrc == 0 &&
			(awsSvc || !c.dstSvc.IsValid(i)) &&
			// A flow between two watched ENIs is logged on both; count it
			// once, on the sender's (egress) side.
			!(sf&fWatch != 0 && c.dir.IsValid(i) && isIngress(c.dir.Value(i))) {
			var b int64
			if core || c.bytes.valid(i) {
				b = c.bytes.value(i)
			}
			a := e.agg(aggKey{win: win, src: si, dst: di, det: detExfil}, c, i, start, core)
			if core || c.dstPort.valid(i) {
				a.ports.add(uint16(c.dstPort.value(i)), maxListedPorts)
			}
			a.bytes += b
			e.evidence(a, c, i, b)
		}
		if rej && reject {
			port := -1
			if core || c.dstPort.valid(i) {
				port = int(c.dstPort.value(i))
			}
			switch {
			case sf&fRejectSrc == 0 && sf&fWatch == 0:
				inbound++
			case sf&fRejectSrc == 0 || sf&fRejectAllowSrc != 0 || df&fRejectDst == 0 || df&fRejectAllowDst != 0 ||
				!e.rejPorts.has(port, true) || e.rejAllowPorts.has(port, false):
				allowed++
			default:
				rejects++
				a := e.agg(aggKey{win: win, src: si, dst: noAddr, det: detReject}, c, i, start, core)
				if port >= 0 {
					a.ports.add(uint16(port), maxListedPorts)
				}
				var b int64
				if core || c.bytes.valid(i) {
					b = c.bytes.value(i)
				}
				a.bytes += b
				e.evidence(a, c, i, b)
			}
		}
		if scan && sf&fScanSrc != 0 && (core || c.dstPort.valid(i)) && !isReply(c, i, core) {
			if p := core || c.proto.valid(i); !p || isPortProto(c.proto.value(i)) {
				a := e.agg(aggKey{win: win, src: si, dst: di, det: detScan}, c, i, start, core)
				isNew := a.ports.add(uint16(c.dstPort.value(i)), 1<<16)
				var b int64
				if core || c.bytes.valid(i) {
					b = c.bytes.value(i)
				}
				a.bytes += b
				if isNew { // a scan's evidence: one record per port tried
					e.evidence(a, c, i, b)
				}
			}
		}
	}
}

// maxListedPorts bounds the ports listed in exfiltration and reject alerts.
const maxListedPorts = 64

// isIngress reports whether a flow-direction value is "ingress" (the other
// is "egress").
func isIngress(v string) bool { return len(v) == 7 && v[0] == 'i' && v == "ingress" }

func isPortProto(p int64) bool { return p == 6 || p == 17 || p == 132 }

// isReply reports whether record i looks like the server's side of a
// connection, whose destination port is the client's ephemeral port: TCP
// flags with SYN-ACK, or a source port below a destination port of 1024 or
// more. Replies would make every busy client look like a port scan.
func isReply(c *columns, i int, core bool) bool {
	if c.flags.valid(i) && c.flags.value(i)&0x12 == 0x12 {
		return true
	}
	if !core && !c.srcPort.valid(i) {
		return false
	}
	sp, dp := c.srcPort.value(i), c.dstPort.value(i)
	return sp < dp && dp >= 1024
}

// agg returns the accumulator of k, counting record i in it.
func (e *Engine) agg(k aggKey, c *columns, i int, start int64, core bool) *agg {
	idx, ok := e.index.find(k, e.aggs)
	if !ok {
		idx = int32(len(e.aggs))
		e.index.insert(k, idx, e.aggs)
		if len(e.aggs) < cap(e.aggs) {
			e.aggs = e.aggs[:len(e.aggs)+1]
			a := &e.aggs[idx]
			*a = agg{key: k, first: start, last: start, ports: a.ports.reset(), ev: a.ev[:0]}
		} else {
			e.aggs = append(e.aggs, agg{key: k, first: start, last: start})
		}
	}
	a := &e.aggs[idx]
	a.count++
	if core || c.packets.valid(i) {
		a.packets += c.packets.value(i)
	}
	a.first = min(a.first, start)
	end := start
	if core || c.end.valid(i) {
		end = c.end.value(i)
	}
	a.last = max(a.last, end)
	return a
}

// evidence keeps row i among the a's largest records (exfiltration) or
// first records (the others; for a port scan, the caller passes only each
// port's first record).
func (e *Engine) evidence(a *agg, c *columns, i int, b int64) {
	n := e.cfg.Evidence
	if len(a.ev) < n {
		a.ev = append(a.ev, int32(i))
		return
	}
	if a.key.det != detExfil || n == 0 {
		return
	}
	// Replace the smallest if row i is larger.
	m, mb := -1, b
	for j, r := range a.ev {
		var rb int64
		if c.bytes.valid(int(r)) {
			rb = c.bytes.value(int(r))
		}
		if rb < mb {
			m, mb = j, rb
		}
	}
	if m >= 0 {
		a.ev[m] = int32(i)
	}
}

// alert builds the alert of a due key.
func (e *Engine) alert(c *columns, a *agg, k Key, t *Totals) Alert {
	ws := time.Unix(k.Window, 0).UTC()
	al := Alert{
		ID: AlertID(k), Detector: k.Detector, Severity: severity(k.Detector), Src: k.Src, Dst: k.Dst,
		WindowStart: ws, WindowEnd: ws.Add(e.cfg.Window),
		Bytes: t.Bytes, Packets: t.Packets, Count: t.Count, Threshold: e.cfg.Threshold(k.Detector),
		FirstSeen: time.Unix(t.First, 0).UTC(), LastSeen: time.Unix(t.Last, 0).UTC(),
	}
	if k.Detector == PortScan {
		for _, p := range t.Ports {
			al.Ports = append(al.Ports, int(p))
		}
	} else {
		for _, p := range a.ports.list() {
			al.Ports = append(al.Ports, int(p))
		}
		slices.Sort(al.Ports)
	}
	ev := slices.Clone(a.ev)
	bytesOf := func(r int32) int64 {
		if c.bytes.valid(int(r)) {
			return c.bytes.value(int(r))
		}
		return 0
	}
	slices.SortStableFunc(ev, func(x, y int32) int { return cmp.Or(cmp.Compare(bytesOf(y), bytesOf(x)), cmp.Compare(x, y)) })
	for _, r := range ev {
		i := int(r)
		v := Evidence{Bytes: bytesOf(r)}
		if c.eni.IsValid(i) {
			v.ENI = strings.Clone(c.eni.Value(i)) // alerts outlive the batch's buffers
			if !slices.Contains(al.ENIs, v.ENI) {
				al.ENIs = append(al.ENIs, v.ENI)
			}
		}
		v.Src, v.Dst = c.src.Value(i), c.dst.Value(i)
		if c.pktSrc.IsValid(i) {
			v.Src = c.pktSrc.Value(i)
		}
		if c.pktDst.IsValid(i) {
			v.Dst = c.pktDst.Value(i)
		}
		v.Src, v.Dst = canonical(v.Src), canonical(v.Dst)
		if k.Detector == Reject && !slices.Contains(al.Dsts, v.Dst) {
			al.Dsts = append(al.Dsts, v.Dst)
		}
		v.SrcPort = int(c.srcPort.value(i))
		v.DstPort = int(c.dstPort.value(i))
		v.Protocol = int(c.proto.value(i))
		v.Packets = c.packets.value(i)
		v.Start = time.Unix(c.start.value(i), 0).UTC()
		v.End = v.Start
		if c.end.valid(i) {
			v.End = time.Unix(c.end.value(i), 0).UTC()
		}
		if c.action.IsValid(i) {
			v.Action = strings.Clone(c.action.Value(i))
		}
		al.Evidence = append(al.Evidence, v)
	}
	slices.Sort(al.ENIs)
	slices.Sort(al.Dsts)
	al.Title = title(&al)
	return al
}

// Address table. IPv4 addresses written canonically (the common case) are
// parsed in place into their 32-bit value, which is their ID, and their
// memberships come from a small direct-mapped cache; any other address
// (IPv6, or IPv4 with leading zeros) goes through netip and a map to a
// table index.

const (
	maxAddrs = 1 << 20
	v6Bit    = 1 << 63
	v4Cache  = 4096
	strCache = 4096
)

const (
	fWatch uint16 = 1 << iota
	fExfilAllow
	fRejectSrc
	fRejectAllowSrc
	fRejectDst
	fRejectAllowDst
	fScanSrc
	fExfilAllowSrc
)

type addrInfo struct {
	canon string
	flags uint16
	ok    bool
}

type v4Entry struct {
	ip    uint32
	flags uint16
	set   bool
	canon string // set on first use as a key
}

// strEntry caches the lookup of an address string of 8 to 16 bytes, which
// its length and first and last 8 bytes identify exactly.
type strEntry struct {
	w1, w2 uint64
	id     uint64
	n      uint8
	flags  uint16
	ok     bool
}

// v4Rule is one IPv4 prefix of a membership list, as integers.
type v4Rule struct {
	net, mask uint32
	bit       uint16
}

type addrTable struct {
	cfg   *Config
	rules []v4Rule // the IPv4 prefixes of every list, for flags4
	str   [strCache]strEntry
	v4    [v4Cache]v4Entry
	index map[string]uint32
	info  []addrInfo
}

func newAddrTable(cfg *Config) addrTable {
	t := addrTable{cfg: cfg, index: make(map[string]uint32)}
	t.eachList(func(list []netip.Prefix, bit uint16) {
		for _, p := range list {
			if p.Addr().Is4() {
				a := p.Addr().As4()
				mask := uint32(0)
				if p.Bits() > 0 {
					mask = ^uint32(0) << (32 - p.Bits())
				}
				t.rules = append(t.rules, v4Rule{net: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), mask: mask, bit: bit})
			}
		}
	})
	return t
}

// eachList calls fn with every membership list (its default when unset)
// and its flag.
func (t *addrTable) eachList(fn func([]netip.Prefix, uint16)) {
	cfg := t.cfg
	or := func(list, dflt []netip.Prefix) []netip.Prefix {
		if list == nil {
			return dflt
		}
		return list
	}
	fn(cfg.Watch, fWatch)
	fn(cfg.ExfilAllowDst, fExfilAllow)
	fn(or(cfg.RejectSrc, cfg.Watch), fRejectSrc)
	fn(cfg.RejectAllowSrc, fRejectAllowSrc)
	fn(or(cfg.RejectDst, anywhere), fRejectDst)
	fn(cfg.RejectAllowDst, fRejectAllowDst)
	fn(or(cfg.ScanSrc, cfg.Watch), fScanSrc)
	fn(cfg.ExfilAllowSrc, fExfilAllowSrc)
}

// flags4 returns the memberships of an IPv4 address.
func (t *addrTable) flags4(ip uint32) uint16 {
	var f uint16
	for _, r := range t.rules {
		if ip&r.mask == r.net {
			f |= r.bit
		}
	}
	return f
}

func (t *addrTable) reset() {
	clear(t.index)
	t.str = [strCache]strEntry{}
	t.info = t.info[:0]
}

// lookup returns the ID and memberships of the address s, and whether it
// parses.
func (t *addrTable) lookup(s string) (uint64, uint16, bool) {
	n := len(s)
	if n < 8 || n > 16 {
		return t.lookupSlow(s)
	}
	p := unsafe.StringData(s)
	w1 := *(*uint64)(unsafe.Pointer(p))
	w2 := *(*uint64)(unsafe.Add(unsafe.Pointer(p), n-8))
	h := (w1*0x9e3779b97f4a7c15 ^ w2*0xc2b2ae3d27d4eb4f ^ uint64(n)) >> 52 % strCache
	ce := &t.str[h]
	if ce.w1 == w1 && ce.w2 == w2 && ce.n == uint8(n) {
		return ce.id, ce.flags, ce.ok
	}
	id, f, ok := t.lookupSlow(s)
	*ce = strEntry{w1: w1, w2: w2, n: uint8(n), id: id, flags: f, ok: ok}
	return id, f, ok
}

func (t *addrTable) lookupSlow(s string) (uint64, uint16, bool) {
	if ip, ok := parseIPv4(s); ok {
		h := (ip * 2654435761) >> 20 % v4Cache
		ce := &t.v4[h]
		if !ce.set || ce.ip != ip {
			*ce = v4Entry{ip: ip, flags: t.flags4(ip), set: true}
		}
		return uint64(ip), ce.flags, true
	}
	i, ok := t.index[s]
	if !ok {
		i = uint32(len(t.info))
		t.index[strings.Clone(s)] = i
		var ai addrInfo
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap().WithZone("")
			ai = addrInfo{canon: a.String(), flags: t.flags(a), ok: true}
		}
		t.info = append(t.info, ai)
	}
	ai := &t.info[i]
	return v6Bit | uint64(i), ai.flags, ai.ok
}

// canon returns the canonical text of an address ID.
func (t *addrTable) canon(id uint64) string {
	if id&v6Bit == 0 {
		ip := uint32(id)
		ce := &t.v4[(ip*2654435761)>>20%v4Cache]
		if ce.set && ce.ip == ip && ce.canon != "" {
			return ce.canon
		}
		s := netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}).String()
		if ce.set && ce.ip == ip {
			ce.canon = s
		}
		return s
	}
	return t.info[uint32(id)].canon
}

func (t *addrTable) flags(a netip.Addr) uint16 {
	var f uint16
	t.eachList(func(list []netip.Prefix, bit uint16) {
		for _, p := range list {
			if p.Contains(a) {
				f |= bit
				return
			}
		}
	})
	return f
}

// parseIPv4 parses a dotted-quad IPv4 address written canonically (no
// leading zeros), the form flow logs use.
func parseIPv4(s string) (uint32, bool) {
	if len(s) < 7 || len(s) > 15 {
		return 0, false
	}
	var ip uint32
	i := 0
	for k := 0; k < 4; k++ {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, false
			}
			i++
		}
		if i >= len(s) {
			return 0, false
		}
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v := uint32(d)
		i++
		if d != 0 && i < len(s) {
			if d = s[i] - '0'; d <= 9 {
				v = v*10 + uint32(d)
				i++
				if i < len(s) {
					if d = s[i] - '0'; d <= 9 {
						v = v*10 + uint32(d)
						i++
						if v > 255 {
							return 0, false
						}
					}
				}
			}
		}
		ip = ip<<8 | v
	}
	return ip, i == len(s)
}

// canonical returns the canonical text of an address, or a copy of s if it
// does not parse (s may point into a batch's buffers).
func canonical(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return strings.Clone(s)
	}
	return a.Unmap().WithZone("").String()
}

var anywhere = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// portMask is a set of ports; nil is "no list given".
type portMask [1 << 16 / 64]uint64

func newPortMask(rs []PortRange) *portMask {
	if len(rs) == 0 {
		return nil
	}
	m := new(portMask)
	for _, r := range rs {
		for p := int(r.Lo); p <= int(r.Hi); p++ {
			m[p/64] |= 1 << (p % 64)
		}
	}
	return m
}

// has reports whether port is in the set; a nil set or an unknown port (-1)
// answers ifNone.
func (m *portMask) has(port int, ifNone bool) bool {
	if m == nil || port < 0 {
		return ifNone
	}
	return m[port/64]&(1<<(port%64)) != 0
}

// portSet collects distinct ports: a slice while small, then a map.
type portSet struct {
	small []uint16
	big   map[uint16]struct{}
}

func (s portSet) reset() portSet {
	return portSet{small: s.small[:0]}
}

// add puts p in the set (while it holds fewer than limit ports) and reports
// whether p was new.
func (s *portSet) add(p uint16, limit int) bool {
	if s.big != nil {
		if _, ok := s.big[p]; ok || len(s.big) >= limit {
			return false
		}
		s.big[p] = struct{}{}
		return true
	}
	if slices.Contains(s.small, p) || len(s.small) >= limit {
		return false
	}
	if len(s.small) < 32 {
		s.small = append(s.small, p)
		return true
	}
	s.big = make(map[uint16]struct{}, 64)
	for _, q := range s.small {
		s.big[q] = struct{}{}
	}
	s.big[p] = struct{}{}
	return true
}

func (s *portSet) list() []uint16 {
	if s.big == nil {
		if len(s.small) == 0 {
			return nil
		}
		out := slices.Clone(s.small)
		slices.Sort(out)
		return out
	}
	out := make([]uint16, 0, len(s.big))
	for p := range s.big {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// aggIndex maps aggKeys to indexes of Engine.aggs: open addressing with
// linear probing, cheaper than a Go map for these fixed-size keys.
type aggIndex struct {
	slots []int32 // index+1; 0 is empty
	n     int
}

func (m *aggIndex) reset() {
	if len(m.slots) == 0 {
		m.slots = make([]int32, 1024)
	}
	if m.n > 0 {
		clear(m.slots)
	}
	m.n = 0
}

func hashKey(k aggKey) uint64 {
	h := uint64(k.win)*0x9e3779b97f4a7c15 ^ k.src*0xc2b2ae3d27d4eb4f ^ (k.dst+uint64(k.det))*0x165667b19e3779f9
	return h ^ h>>29
}

func (m *aggIndex) find(k aggKey, aggs []agg) (int32, bool) {
	mask := uint64(len(m.slots) - 1)
	for h := hashKey(k) & mask; ; h = (h + 1) & mask {
		s := m.slots[h]
		if s == 0 {
			return 0, false
		}
		if aggs[s-1].key == k {
			return s - 1, true
		}
	}
}

// insert adds k (not present) at idx; aggs[:idx] hold the keys already in.
func (m *aggIndex) insert(k aggKey, idx int32, aggs []agg) {
	if (m.n+1)*2 > len(m.slots) {
		m.slots = make([]int32, len(m.slots)*2)
		mask := uint64(len(m.slots) - 1)
		for j := range aggs[:idx] {
			h := hashKey(aggs[j].key) & mask
			for m.slots[h] != 0 {
				h = (h + 1) & mask
			}
			m.slots[h] = int32(j) + 1
		}
	}
	mask := uint64(len(m.slots) - 1)
	h := hashKey(k) & mask
	for m.slots[h] != 0 {
		h = (h + 1) & mask
	}
	m.slots[h] = idx + 1
	m.n++
}
