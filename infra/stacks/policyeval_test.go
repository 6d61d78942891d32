package stacks

import (
	"fmt"
	"path"
	"strings"
)

// A small IAM policy evaluator for the tests: enough of AWS's documented logic
// (explicit deny wins, then any allow, else implicit deny; Principal, Action and
// Resource globs; the condition operators flowq's templates use) to check a
// resource policy against requests, independently of how CDK wrote it.

// request is one API call as a resource policy sees it.
type request struct {
	service  string // calling AWS service principal, e.g. cloudwatch.amazonaws.com; "" for an IAM principal
	account  string // the calling principal's account (IAM principals)
	action   string
	resource string
	context  map[string]string // condition keys: aws:SecureTransport, aws:SourceArn, ...
}

// intrinsics resolves template values for the evaluator: pseudo parameters and
// Refs from a table, Fn::Join and Fn::GetAtt ("<ID>.<Attr>" from the table).
type intrinsics map[string]string

func (in intrinsics) resolve(v any) string {
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
			return strings.Join(strings.Split(in.resolve(sp[1]), sp[0].(string)), "\x00") // a list, see list
		}
		if j, ok := v["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, in.resolve(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	return fmt.Sprintf("<unresolved %v>", v)
}

func (in intrinsics) list(v any) []string {
	if l, ok := v.([]any); ok {
		var out []string
		for _, e := range l {
			out = append(out, in.resolve(e))
		}
		return out
	}
	return strings.Split(in.resolve(v), "\x00")
}

// glob matches IAM's * and ? wildcards.
func glob(pattern, s string) bool {
	ok, _ := path.Match(strings.NewReplacer("[", "\\[", "/", "\x00").Replace(pattern), strings.ReplaceAll(s, "/", "\x00"))
	return ok
}

// evaluate returns "allow", "deny" (an explicit deny) or "implicit deny".
func (in intrinsics) evaluate(doc map[string]any, r request) string {
	allowed := false
	for _, st := range asList(doc["Statement"]) {
		if !in.principalMatches(st["Principal"], r) || !in.anyGlob(st["Action"], r.action, true) ||
			!in.anyGlob(st["Resource"], r.resource, false) || !in.conditionsHold(st["Condition"], r) {
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

func (in intrinsics) anyGlob(v any, s string, fold bool) bool {
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

func (in intrinsics) principalMatches(p any, r request) bool {
	if p == "*" {
		return true
	}
	m, _ := p.(map[string]any)
	if m["AWS"] == "*" {
		return true
	}
	if r.service != "" {
		for _, s := range in.list(m["Service"]) {
			if s == r.service {
				return true
			}
		}
		return false
	}
	if aws, ok := m["AWS"]; ok {
		for _, a := range in.list(aws) {
			if a == r.account || strings.HasPrefix(a, "arn:aws:iam::"+r.account+":") {
				return true
			}
		}
	}
	return false
}

func (in intrinsics) conditionsHold(c any, r request) bool {
	m, _ := c.(map[string]any)
	for op, kv := range m {
		for key, want := range kv.(map[string]any) {
			got, ok := r.context[key]
			if !ok {
				return false
			}
			match := false
			for _, w := range in.list(want) {
				switch op {
				case "StringEquals", "ArnEquals", "Bool":
					match = match || got == w
				case "StringLike", "ArnLike":
					match = match || glob(w, got)
				default:
					panic("policy evaluator: operator " + op + " not implemented")
				}
			}
			if !match {
				return false
			}
		}
	}
	return true
}
