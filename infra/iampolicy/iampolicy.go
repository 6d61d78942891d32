// Package iampolicy evaluates IAM policy documents for flowq's infra tests: enough
// of AWS's documented logic (an explicit deny wins, then any allow, else an implicit
// deny; Principal, Action and Resource globs; the condition operators the app's
// templates use) to check a resource policy against requests, independently of how
// CDK wrote it. Documents may hold CloudFormation intrinsics, resolved from Values.
package iampolicy

import (
	"fmt"
	"path"
	"strings"
)

// Request is one API call as a resource policy sees it.
type Request struct {
	Service  string // calling AWS service principal, e.g. cloudwatch.amazonaws.com; "" for an IAM principal
	Account  string // the calling principal's account (IAM principals)
	Action   string
	Resource string
	Context  map[string]string // condition keys: aws:SecureTransport, aws:SourceArn, ...
}

// Values resolves template values: pseudo parameters and Refs by name,
// Fn::GetAtt as "<ID>.<Attr>", Fn::Join, Fn::Select and Fn::Split.
type Values map[string]string

// Resolve renders a template value with its intrinsics resolved.
func (in Values) Resolve(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			return in[r]
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok {
			return in[fmt.Sprint(g[0])+"."+fmt.Sprint(g[1])]
		}
		if sel, ok := v["Fn::Select"].([]any); ok {
			parts := in.list(sel[1])
			if i := int(sel[0].(float64)); i < len(parts) {
				return parts[i]
			}
		}
		if sp, ok := v["Fn::Split"].([]any); ok {
			return strings.Join(strings.Split(in.Resolve(sp[1]), sp[0].(string)), "\x00") // a list, see list
		}
		if j, ok := v["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, in.Resolve(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	return fmt.Sprintf("<unresolved %v>", v)
}

func (in Values) list(v any) []string {
	if l, ok := v.([]any); ok {
		var out []string
		for _, e := range l {
			out = append(out, in.Resolve(e))
		}
		return out
	}
	return strings.Split(in.Resolve(v), "\x00")
}

// glob matches IAM's * and ? wildcards.
func glob(pattern, s string) bool {
	ok, _ := path.Match(strings.NewReplacer("[", "\\[", "/", "\x00").Replace(pattern), strings.ReplaceAll(s, "/", "\x00"))
	return ok
}

// Evaluate returns "allow", "deny" (an explicit deny) or "implicit deny" for r
// under the policy document doc ("unsupported condition operator X" when the
// document needs more than this evaluator knows).
func (in Values) Evaluate(doc map[string]any, r Request) string {
	allowed := false
	for _, st := range statements(doc["Statement"]) {
		if !in.principalMatches(st["Principal"], r) || !in.anyGlob(st["Action"], r.Action, true) ||
			!in.anyGlob(st["Resource"], r.Resource, false) {
			continue
		}
		if ok, op := in.conditionsHold(st["Condition"], r); op != "" {
			return "unsupported condition operator " + op
		} else if !ok {
			continue
		}
		if st["Effect"] == "Deny" {
			return "deny"
		}
		allowed = true
	}
	if allowed {
		return "allow"
	}
	return "implicit deny"
}

func (in Values) anyGlob(v any, s string, fold bool) bool {
	for _, p := range in.list(v) {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if glob(p, s) {
			return true
		}
	}
	return false
}

func (in Values) principalMatches(p any, r Request) bool {
	if p == "*" {
		return true
	}
	m, _ := p.(map[string]any)
	if m["AWS"] == "*" {
		return true
	}
	if r.Service != "" {
		for _, s := range in.list(m["Service"]) {
			if s == r.Service {
				return true
			}
		}
		return false
	}
	if aws, ok := m["AWS"]; ok {
		for _, a := range in.list(aws) {
			if a == r.Account || strings.HasPrefix(a, "arn:aws:iam::"+r.Account+":") {
				return true
			}
		}
	}
	return false
}

func (in Values) conditionsHold(c any, r Request) (ok bool, unsupported string) {
	defer func() {
		if unsupported != "" {
			ok = false
		}
	}()
	m, _ := c.(map[string]any)
	for op, kv := range m {
		for key, want := range kv.(map[string]any) {
			got, ok := r.Context[key]
			if !ok {
				return false, unsupported
			}
			match := false
			for _, w := range in.list(want) {
				switch op {
				case "StringEquals", "ArnEquals", "Bool":
					match = match || got == w
				case "StringLike", "ArnLike":
					match = match || glob(w, got)
				default:
					unsupported = op
				}
			}
			if !match {
				return false, unsupported
			}
		}
	}
	return true, unsupported
}

// statements returns a Statement value as a list of maps.
func statements(v any) []map[string]any {
	if m, ok := v.(map[string]any); ok {
		return []map[string]any{m}
	}
	var out []map[string]any
	for _, e := range v.([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// ResolveAll returns v (a policy document) with every intrinsic resolved, as the
// document CloudFormation would hand to the service.
func (in Values) ResolveAll(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range []string{"Ref", "Fn::GetAtt", "Fn::Join", "Fn::Select", "Fn::Split"} {
			if _, ok := v[k]; ok && len(v) == 1 {
				return in.Resolve(v)
			}
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = in.ResolveAll(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = in.ResolveAll(e)
		}
		return out
	}
	return v
}
