package resolve

import (
	"net/netip"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/policy"
)

// Rules implements detect.PolicyJudge: the rules of the snapshot in force
// at t, and the span over which it stays in force as far as the snapshots
// listed so far tell.
func (r *Resolver) Rules(t int64) (detect.PolicyRules, int64, int64, bool) {
	at := time.Unix(t, 0)
	x := r.index(at)
	if x == nil {
		return nil, 0, 0, false
	}
	from, until := t, t+1 // unknown: ask again for another second
	if sp, ok := r.snaps.(spanner); ok {
		from, until = sp.Span(at)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ru, ok := r.rules[x]; ok {
		return ru, from, until, true
	}
	if len(r.rules) >= 8 {
		clear(r.rules)
	}
	ru := &rules{x: x, classes: policy.NewClasses(x)}
	r.rules[x] = ru
	return ru, from, until, true
}

// spanner is a Snapshots that knows when the snapshot in force at a time
// came into force and when the next one does, in Unix seconds.
type spanner interface {
	Span(t time.Time) (from, until int64)
}

// Judge judges one flow against the rules of the snapshot in force at
// f.At, remembering nothing: what the policy detector's memory must agree
// with.
func (r *Resolver) Judge(f detect.PolicyFlow) (detect.PolicyFinding, bool) {
	ru, _, _, ok := r.Rules(f.At.Unix())
	if !ok {
		return detect.PolicyFinding{}, false
	}
	got, bad, _ := ru.Judge(f)
	return got, bad
}

// rules implements detect.PolicyRules over one snapshot.
type rules struct {
	x       *inventory.Index
	classes *policy.Classes
}

func (ru *rules) Class(a netip.Addr) netip.Addr { return ru.classes.Class(a) }

// ClassBounds4 implements detect.ClassBounds4: the policy detector finds
// IPv4 classes by a search of its own over the same bounds.
func (ru *rules) ClassBounds4() []uint32 { return ru.classes.Bounds4() }

// Holds implements detect.PolicySources: whether eni is the interface that
// holds src.
func (ru *rules) Holds(eni string, src netip.Addr) bool {
	ifc := ru.x.InterfaceByAddr(src)
	return ifc != nil && ifc.ID == eni
}

// Judge judges a flow-log record. An ACCEPTed record is a finding when the
// rules deny it both as a request and as the reply of an allowed
// connection (security groups are stateful); on its source's own interface
// (f.AtSource) only the checks up to that interface count (policy.RecordOn). A REJECTed record is a
// finding when a network ACL drops it, as a request or as a reply, while
// the security groups allow it. Flows the snapshot cannot place, and flows
// between address families, are not judged. The ports returned are those
// for which the same reasoning holds (policy.PortBox): any source port,
// when the request's own path decides an ACCEPTed record.
func (ru *rules) Judge(f detect.PolicyFlow) (detect.PolicyFinding, bool, detect.PortBox) {
	x := ru.x
	sp := f.SrcPort
	if f.Src.Is4() != f.Dst.Is4() {
		return detect.PolicyFinding{}, false, detect.PortBox{SrcLo: 0, SrcHi: 65535, DstLo: 0, DstHi: 65535}
	}
	q := policy.Query{Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort, DstPort: f.DstPort, Protocol: f.Protocol}
	// A REJECTed record is read as a reply only from the lower port: its
	// box keeps the ports' order.
	slo, shi, dlo, dhi := policy.PortBox(x, q, !f.Accepted)
	box := detect.PortBox{SrcLo: slo, SrcHi: shi, DstLo: dlo, DstHi: dhi}
	if f.Accepted {
		// The checks of the request's own path do not read the client's
		// port: when they allow the record, any port is allowed.
		fwd, err := policy.Quick(x, q)
		if err != nil {
			return detect.PolicyFinding{}, false, box
		}
		if requestAllowed(&fwd) {
			box.SrcLo, box.SrcHi = 0, 65535
			return detect.PolicyFinding{}, false, box
		}
		// The reply of an allowed connection (most records the request's
		// path denies): told without the rules' texts.
		if sp != 0 {
			rev, err := policy.Quick(x, policy.Query{Src: q.Dst, Dst: q.Src, DstPort: q.SrcPort, SrcPort: q.DstPort, Protocol: q.Protocol})
			if err == nil && rev.Verdict == policy.Allow {
				return detect.PolicyFinding{}, false, box
			}
		}
		v, err := policy.Record(x, q)
		if ifc := x.InterfaceByAddr(q.Src); f.AtSource && ifc != nil {
			v, err = policy.RecordOn(x, q, ifc.ID)
		}
		if err != nil || v.Allowed {
			return detect.PolicyFinding{}, false, box
		}
		return detect.PolicyFinding{Kind: detect.PolicyAcceptedDenied, Layer: v.Result.Layer, Rule: v.Result.Rule}, true, box
	}
	// The record may be a reply when it comes from the lower port (a
	// service's) to the higher (a client's ephemeral one), or when its
	// protocol has no ports (an echo reply: ICMP's records say nothing of
	// their connection's direction).
	mayReply := sp != 0 && sp < q.DstPort || !policy.HasPorts(q.Protocol)
	// Security groups that deny the request itself rule out a finding (a
	// quick test: most REJECTs are that), whatever the client's port that
	// keeps the record from being a reply.
	if !mayReply && !policy.GroupsAllow(x, q) {
		return detect.PolicyFinding{}, false, box
	}
	cands := []policy.Query{q}
	if mayReply {
		cands = append(cands, policy.Query{Src: q.Dst, Dst: q.Src, SrcPort: q.DstPort, DstPort: q.SrcPort, Protocol: q.Protocol})
	}
	for _, c := range cands {
		res, err := policy.Quick(x, c)
		if err != nil {
			continue
		}
		if res.Verdict != policy.Deny || res.Layer != policy.LayerACL || !groupsAllow(&res) {
			continue
		}
		if res, err = policy.Evaluate(x, c); err == nil {
			return detect.PolicyFinding{Kind: detect.PolicyACLDrop, Layer: res.Layer, Rule: res.Rule}, true, box
		}
	}
	return detect.PolicyFinding{}, false, box
}

// groupsAllow reports whether the security groups on the path allowed the
// flow: at least one checked and none denied.
func groupsAllow(res *policy.Result) bool {
	allowed := false
	for _, s := range res.Steps {
		if s.Layer != policy.LayerSG {
			continue
		}
		if s.Result == policy.Deny {
			return false
		}
		allowed = allowed || s.Result == policy.Allow
	}
	return allowed
}

// requestAllowed reports whether no check of the request's own path
// denies it.
func requestAllowed(res *policy.Result) bool {
	for _, s := range res.Steps {
		if s.Result == policy.Deny && !s.Reply {
			return false
		}
	}
	return true
}
