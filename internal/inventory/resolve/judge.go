package resolve

import (
	"net/netip"
	"sync"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/policy"
)

// Judge implements detect.PolicyJudge with the rules of the snapshot in
// force at the flow's time. An ACCEPTed record is a finding when the rules
// deny it both as a request and as the reply of an allowed connection
// (security groups are stateful). A REJECTed record is a finding when a
// network ACL drops it, as a request or as a reply, while the security
// groups allow it. Flows the snapshot cannot place, and flows between
// address families, are not judged.
func (r *Resolver) Judge(f detect.PolicyFlow) (detect.PolicyFinding, bool) {
	if f.Src.Is4() != f.Dst.Is4() {
		return detect.PolicyFinding{}, false
	}
	x := r.index(f.At)
	if x == nil {
		return detect.PolicyFinding{}, false
	}
	q := policy.Query{Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort, DstPort: f.DstPort, Protocol: f.Protocol}
	if f.Accepted {
		// Whether the request's own path is allowed does not depend on the
		// client's port: remember it per snapshot and conversation.
		key := memoKey{x: x, src: f.Src, dst: f.Dst, dstPort: f.DstPort, proto: f.Protocol}
		if r.memo.allowed(key) {
			return detect.PolicyFinding{}, false
		}
		fwd, err := policy.Quick(x, q)
		if err != nil {
			return detect.PolicyFinding{}, false
		}
		if requestAllowed(&fwd) {
			r.memo.put(key)
			return detect.PolicyFinding{}, false
		}
		v, err := policy.Record(x, q)
		if err != nil || v.Allowed {
			return detect.PolicyFinding{}, false
		}
		return detect.PolicyFinding{Kind: detect.PolicyAcceptedDenied, Layer: v.Result.Layer, Rule: v.Result.Rule}, true
	}
	// Security groups that deny the request itself rule out a finding (a
	// quick test: most REJECTs are that).
	mayReply := q.SrcPort != 0 && q.SrcPort < q.DstPort
	if !mayReply && !policy.GroupsAllow(x, q) {
		return detect.PolicyFinding{}, false
	}
	cands := []policy.Query{q}
	// The record may be a reply when it comes from the lower port (a
	// service's) to the higher (a client's ephemeral one).
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
			return detect.PolicyFinding{Kind: detect.PolicyACLDrop, Layer: res.Layer, Rule: res.Rule}, true
		}
	}
	return detect.PolicyFinding{}, false
}

// Ready reports whether any snapshot is there to judge by.
func (r *Resolver) Ready() bool { return r.index(time.Time{}) != nil }

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

// memoKey is an ACCEPTed conversation whose requests the rules allow,
// judged against one snapshot.
type memoKey struct {
	x              *inventory.Index
	src, dst       netip.Addr
	dstPort, proto int
}

// memo remembers conversations (see memoKey); it is emptied when it
// reaches its bound.
type memo struct {
	mu sync.Mutex
	m  map[memoKey]struct{}
}

const memoMax = 1 << 16

func (m *memo) allowed(k memoKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.m[k]
	return ok
}

func (m *memo) put(k memoKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= memoMax {
		m.m = make(map[memoKey]struct{})
	}
	m.m[k] = struct{}{}
}
