package resolve

import (
	"github.com/flowq/flowq/internal/detect"
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
		v, err := policy.Record(x, q)
		if err != nil || v.Allowed {
			return detect.PolicyFinding{}, false
		}
		return detect.PolicyFinding{Kind: detect.PolicyAcceptedDenied, Layer: v.Result.Layer, Rule: v.Result.Rule}, true
	}
	cands := []policy.Query{q}
	if q.SrcPort != 0 {
		cands = append(cands, policy.Query{Src: q.Dst, Dst: q.Src, SrcPort: q.DstPort, DstPort: q.SrcPort, Protocol: q.Protocol})
	}
	for _, c := range cands {
		res, err := policy.Evaluate(x, c)
		if err != nil || res.Verdict != policy.Deny || res.Layer != policy.LayerACL {
			continue
		}
		if groupsAllow(&res) {
			return detect.PolicyFinding{Kind: detect.PolicyACLDrop, Layer: res.Layer, Rule: res.Rule}, true
		}
	}
	return detect.PolicyFinding{}, false
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
