package detect

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
)

// Policy is the name of the policy detector: traffic that disagrees with
// the network's rules of its time.
const Policy = detectconfig.Policy

// Kinds of policy findings.
const (
	// PolicyAcceptedDenied: an ACCEPTed record the rules deny — the rules
	// changed outside the code, or the inventory is stale.
	PolicyAcceptedDenied = "accepted-but-denied"
	// PolicyACLDrop: a REJECTed record the security groups allow but a
	// network ACL drops (often the replies, to an ephemeral port).
	PolicyACLDrop = "acl-drops-allowed"
)

// PolicyFlow is one record as the policy detector asks about it. Src and
// Dst are the addresses the interface saw (srcaddr, dstaddr); At is the
// record's start (PolicyRules.Judge does not read it: the rules are those
// in force then). AtSource: the record was logged on the source's own
// interface (its interface-id holds Src; PolicySources), where an ACCEPT
// says only that the source's security groups and its subnet's network ACL
// let the packets out: the checks beyond are the destination's, whose
// interface logs what they refuse. False when unknown: the whole path counts.
type PolicyFlow struct {
	Src, Dst                   netip.Addr
	SrcPort, DstPort, Protocol int
	Accepted                   bool
	AtSource                   bool
	At                         time.Time
}

// PolicyFinding is a PolicyJudge's verdict on a flow that disagrees with
// the rules.
type PolicyFinding struct {
	Kind  string // PolicyAcceptedDenied or PolicyACLDrop
	Layer string // route, network-acl or security-group
	Rule  string // the deciding rule
}

// PortBox is the ports a verdict holds for: the source ports SrcLo..SrcHi
// with the destination ports DstLo..DstHi (each within 0-65535). A request
// from a client's ephemeral port and the reply to it (from the service's
// port to the client's) vary in one port each, so a verdict over a range
// of each answers a busy flow's records in both directions.
type PortBox struct{ SrcLo, SrcHi, DstLo, DstHi int }

// PolicyJudge hands out the rules in force at a time
// (internal/inventory/resolve implements it from inventory snapshots). It
// must be safe for concurrent use.
type PolicyJudge interface {
	// Rules returns the rules in force at t (Unix seconds) and the span
	// [from, until) over which they stay in force, as far as is known now;
	// false when there are none (no inventory yet: nothing is judged).
	Rules(t int64) (rules PolicyRules, from, until int64, ok bool)
}

// PolicyRules judges flows against one configuration of the network (an
// inventory snapshot). The detector remembers verdicts per PolicyRules
// value, so values must be comparable and stand for one configuration (a
// pointer per snapshot).
type PolicyRules interface {
	// Judge reports whether f disagrees with the rules (false when it
	// agrees or cannot be judged), and the ports, f's own among them, over
	// which flows that differ from f only in their ports get the same
	// answer.
	Judge(f PolicyFlow) (finding PolicyFinding, bad bool, ports PortBox)
	// Class maps an address to its class: flows that differ only in
	// addresses of one class get the same answer from Judge (only the
	// addresses a finding's rule text quotes differ). An address's class
	// is itself an address of the class.
	Class(addr netip.Addr) netip.Addr
}

// PolicySources may be implemented by PolicyRules: whether the interface
// eni (a record's interface-id) holds the address src, so that the record
// was logged on its source's own interface (PolicyFlow.AtSource). Without
// it every record is judged over its whole path, and an ACCEPT on the
// source's interface of what the destination refuses (a host whose group
// lets everything out, trying a database that does not admit it) is a
// finding.
type PolicySources interface {
	Holds(eni string, src netip.Addr) bool
}

// PolicyDetector raises policy alerts: one per (window, src, dst), once,
// through the same State as the Engine (so Engine.Ack or PolicyDetector.Ack
// acknowledges them alike).
type PolicyDetector struct {
	judge    PolicyJudge
	st       State
	now      func() time.Time
	cfg      Config
	resolver Resolver

	mu      sync.Mutex
	scratch scratch
	memos   []*policyMemo // per rules, newest last (at most memoRules)
	mask    []uint64
	flagged []flagged
}

// NewPolicyDetector returns a policy detector over judge; cfg gives the
// window, evidence, retention and claim lease; resolver (may be nil) names
// the alerts' resources.
func NewPolicyDetector(judge PolicyJudge, st State, now func() time.Time, cfg Config, resolver Resolver) (*PolicyDetector, error) {
	if judge == nil || st == nil || now == nil {
		return nil, fmt.Errorf("policy detector: judge, state and clock are required")
	}
	if cfg.Window <= 0 {
		return nil, fmt.Errorf("policy detector: window %s: want > 0", cfg.Window)
	}
	return &PolicyDetector{judge: judge, st: st, now: now, cfg: cfg, resolver: resolver}, nil
}

// policyKey is a distinct flow of a batch, judged once.
type policyKey struct {
	src, dst                   string
	srcPort, dstPort, protocol int
	accepted                   bool
}

type policyAgg struct {
	key      Key
	finding  PolicyFinding
	bytes    int64
	packets  int64
	count    int64
	first    int64
	last     int64
	ports    []int
	enis     []string
	evidence []Evidence
}

// Process judges every record of rec and returns the policy alerts that
// became due, claimed for batchID (see Engine.Process for the contract).
// Each record is judged against the rules in force at its start, through
// the verdicts remembered (policyMemo); only records the rules disagree
// with are judged one by one, to name the deciding rule.
func (d *PolicyDetector) Process(ctx context.Context, batchID string, rec arrow.RecordBatch) ([]Alert, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.scratch.reset()
	c, err := bindColumns(rec, &d.scratch)
	if err != nil {
		return nil, err
	}
	for _, m := range d.memos {
		m.trim()
	}
	now := d.now()
	w := int64(d.cfg.Window / time.Second)
	ret := int64(d.cfg.Retention / time.Second)
	type exactKey struct {
		policyKey
		m     *policyMemo
		atSrc bool
	}
	var judged map[exactKey]*PolicyFinding
	aggs := map[Key]*policyAgg{}
	var order []Key
	n := int(rec.NumRows())
	mask := coreMask(&c, n, &d.mask)
	// Records that start before cut are late: their window's state may be
	// gone (its end plus the retention is before now).
	cut := int64(math.MinInt64)
	if ret > 0 {
		cut = floorDiv(now.Unix()-w-ret-1, w)*w + w
	}
	// The rules in force are asked again for every batch (the judge may
	// have seen a new snapshot since).
	d.flagged = d.flag(&c, n, mask, cut, d.flagged)
	for _, fl := range d.flagged {
		i, cur := fl.row, fl.m
		core := mask[i>>6]>>(i&63)&1 != 0
		start := c.start.value(i)
		k := policyKey{src: c.src.Value(i), dst: c.dst.Value(i), protocol: int(c.proto.value(i)), accepted: c.action.Value(i) == parse.ActionAccept}
		if core || c.srcPort.valid(i) {
			k.srcPort = int(c.srcPort.value(i))
		}
		if core || c.dstPort.valid(i) {
			k.dstPort = int(c.dstPort.value(i))
		}
		// The verdicts flag a record over its whole path. On its source's
		// own interface an ACCEPT says only that the source's checks let
		// it out: judged by those (a few records: the source's checks are
		// some of the path's, so what the path allows they allow).
		atSrc := k.accepted && c.eni.IsValid(i) && cur.atSource(c.eni.Value(i), k.src)
		if atSrc && !cur.judgeAtSource(k.src, k.dst, k.srcPort, k.dstPort, k.protocol) {
			continue
		}
		win := floorDiv(start, w) * w
		key := Key{Detector: Policy, Window: win, Src: k.src, Dst: k.dst}
		a := aggs[key]
		if a == nil {
			// The first record of its alert in the batch: judge its own
			// addresses, to name the deciding rule (its text may quote
			// them). The alert names that rule; the records after it are
			// counted on the verdicts' word alone, which is exact (a class
			// holds addresses no rule tells apart): a judgement of each
			// (tens of µs) made a batch whose rules disagree with a busy
			// flow a hundred times slower than one whose rules do not.
			if judged == nil {
				judged = map[exactKey]*PolicyFinding{}
			}
			ek := exactKey{k, cur, atSrc}
			f, seen := judged[ek]
			if !seen {
				src, err1 := netip.ParseAddr(k.src)
				dst, err2 := netip.ParseAddr(k.dst)
				if err1 == nil && err2 == nil {
					if got, bad, _ := cur.rules.Judge(PolicyFlow{Src: src.Unmap(), Dst: dst.Unmap(), SrcPort: k.srcPort, DstPort: k.dstPort,
						Protocol: k.protocol, Accepted: k.accepted, AtSource: atSrc, At: time.Unix(start, 0).UTC()}); bad {
						f = &got
					}
				}
				ek.src, ek.dst = stringsClone(k.src), stringsClone(k.dst)
				judged[ek] = f
			}
			if f == nil {
				continue
			}
			key.Src, key.Dst = stringsClone(key.Src), stringsClone(key.Dst) // k's may point into the batch
			a = &policyAgg{key: key, finding: *f, first: start}
			aggs[key] = a
			order = append(order, key)
		}
		a.count++
		if c.bytes.valid(i) {
			a.bytes += c.bytes.value(i)
		}
		if c.packets.valid(i) {
			a.packets += c.packets.value(i)
		}
		end := start
		if c.end.valid(i) {
			end = c.end.value(i)
		}
		a.first, a.last = min(a.first, start), max(a.last, end)
		if !slices.Contains(a.ports, k.dstPort) {
			a.ports = append(a.ports, k.dstPort)
		}
		if c.eni.IsValid(i) && !slices.Contains(a.enis, c.eni.Value(i)) {
			a.enis = append(a.enis, stringsClone(c.eni.Value(i)))
		}
		if len(a.evidence) < d.cfg.Evidence {
			a.evidence = append(a.evidence, policyEvidence(&c, i, k, start, end))
		}
	}
	if len(order) == 0 {
		return nil, nil
	}
	token := BatchToken(batchID)
	ups := make([]Update, len(order))
	for i, key := range order {
		a := aggs[key]
		ups[i] = Update{Key: key, Delta: Delta{Bytes: a.bytes, Packets: a.packets, Count: a.count, First: a.first, Last: a.last}}
		if ret > 0 {
			ups[i].Expires = key.Window + w + ret
		}
	}
	totals, err := d.st.Apply(ctx, token, now, ups)
	if err != nil {
		return nil, fmt.Errorf("apply batch to state: %w", err)
	}
	var alerts []Alert
	for i, key := range order {
		t := &totals[i]
		if t.Sent || t.Count < 1 {
			continue
		}
		ok, err := d.st.Claim(ctx, key, token, now, d.cfg.ClaimLease)
		if err != nil {
			return nil, fmt.Errorf("claim alert %s: %w", key, err)
		}
		if ok {
			alerts = append(alerts, d.alert(aggs[key], t))
		}
	}
	return alerts, nil
}

func policyEvidence(c *columns, i int, k policyKey, start, end int64) Evidence {
	v := Evidence{Src: stringsClone(k.src), Dst: stringsClone(k.dst), SrcPort: k.srcPort, DstPort: k.dstPort, Protocol: k.protocol,
		Start: time.Unix(start, 0).UTC(), End: time.Unix(end, 0).UTC(), Action: parse.ActionReject}
	if k.accepted {
		v.Action = parse.ActionAccept
	}
	if c.eni.IsValid(i) {
		v.ENI = stringsClone(c.eni.Value(i))
	}
	if c.bytes.valid(i) {
		v.Bytes = c.bytes.value(i)
	}
	if c.packets.valid(i) {
		v.Packets = c.packets.value(i)
	}
	return v
}

func (d *PolicyDetector) alert(a *policyAgg, t *Totals) Alert {
	w := d.cfg.Window
	al := Alert{
		ID: AlertID(a.key), Detector: Policy, Severity: SeverityMedium,
		Src: a.key.Src, Dst: a.key.Dst,
		WindowStart: time.Unix(a.key.Window, 0).UTC(), WindowEnd: time.Unix(a.key.Window, 0).Add(w).UTC(),
		Bytes: t.Bytes, Packets: t.Packets, Count: t.Count, Threshold: 1,
		FirstSeen: time.Unix(t.First, 0).UTC(), LastSeen: time.Unix(t.Last, 0).UTC(),
		Ports: slices.Sorted(slices.Values(a.ports)), ENIs: slices.Sorted(slices.Values(a.enis)), Evidence: a.evidence,
		Rule: a.finding.Layer + ": " + a.finding.Rule,
	}
	verb := "a network ACL drops what the security groups allow"
	if a.finding.Kind == PolicyAcceptedDenied {
		al.Severity = SeverityHigh
		verb = "ACCEPTed but the rules deny it"
	}
	if more := t.Count - int64(len(al.Evidence)); more > 0 {
		al.EvidenceMore = more
	}
	nameResources(d.resolver, &al)
	al.Title = asciiLine(fmt.Sprintf("policy %s%s -> %s%s %s: %s (%s %s)", al.Src, resourceName(al.SrcResource), al.Dst, resourceName(al.DstResource),
		portList(al.Ports), verb, a.finding.Layer, a.finding.Rule))
	return al
}

// memo returns the verdicts remembered under r, making room for them when
// r is new.
func (d *PolicyDetector) memo(r PolicyRules) *policyMemo {
	for i := len(d.memos) - 1; i >= 0; i-- {
		if d.memos[i].rules == r {
			return d.memos[i]
		}
	}
	if len(d.memos) >= memoRules {
		d.memos = slices.Delete(d.memos, 0, 1)
	}
	m := newPolicyMemo(r)
	d.memos = append(d.memos, m)
	return m
}

// Ack marks alerts as delivered.
func (d *PolicyDetector) Ack(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	keys := make([]Key, len(alerts))
	for i := range alerts {
		keys[i] = alerts[i].Key()
	}
	return d.st.Ack(ctx, keys, d.now())
}

func portList(ports []int) string {
	if len(ports) == 1 {
		return fmt.Sprintf("port %d", ports[0])
	}
	return fmt.Sprintf("%d ports", len(ports))
}

// asciiLine keeps a title to one printable-ASCII line.
func asciiLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

func stringsClone(s string) string { return string([]byte(s)) }
