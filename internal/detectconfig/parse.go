package detectconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/flowq/flowq/internal/textdist"
)

// Parse reads a detection configuration document: a YAML mapping whose keys
// are the `flowq detect` flags without their dashes, over the defaults.
// Lists take a YAML sequence or a comma-separated string:
//
//	watch: [10.0.0.0/16]
//	exfil-bytes: 1MB
//	exfil-budget: [50MB/24h]
//	allow-src: 10.0.0.10, 10.0.1.10
//	detectors: [exfiltration, reject]
//
// Every problem is reported at once, each as "FILE:LINE: KEY: what".
// The empty document is the defaults.
func Parse(filename string, data []byte) (Config, error) {
	c := Default()
	at := func(line int) string { return fmt.Sprintf("%s:%d", filename, line) }
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var ye interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(err, &ye) && ye.GetToken() != nil {
			return c, fmt.Errorf("%s: %s", at(ye.GetToken().Position.Line), ye.GetMessage())
		}
		return c, fmt.Errorf("%s: %v", filename, err)
	}
	var body ast.Node
	for _, d := range f.Docs {
		if d.Body == nil {
			continue
		}
		if body != nil {
			return c, fmt.Errorf("%s: one YAML document only", at(line(d.Body)))
		}
		body = d.Body
	}
	if body == nil {
		return c, nil
	}
	var values []*ast.MappingValueNode
	switch m := unwrap(body).(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return c, fmt.Errorf("%s: want a mapping of options (such as exfil-bytes: 1MB), found %s", at(line(body)), body.Type())
	}
	var errs []error
	lines := map[string]int{}
	names := make([]string, 0, len(Options()))
	for _, o := range Options() {
		names = append(names, o.Name)
	}
	for _, mv := range values {
		key := strings.TrimSpace(mv.Key.String())
		ln := line(mv.Key)
		o, ok := Lookup(strings.TrimPrefix(key, "--"))
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown option %q%s", at(ln), key, suggest(key, names)))
			continue
		}
		if prev, dup := lines[o.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: %s: also set on line %d", at(ln), o.Name, prev))
			continue
		}
		lines[o.Name] = ln
		v, err := scalarText(mv.Value, o.List)
		if err == nil {
			err = o.Set(&c, v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", at(line(mv.Value)), o.Name, err))
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	for _, p := range c.problems() {
		errs = append(errs, fmt.Errorf("%s: %s: %w", at(lines[p.option]), p.option, p.err))
	}
	return c, errors.Join(errs...)
}

// unwrap skips tags and anchors.
func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.TagNode:
			n = t.Value
		case *ast.AnchorNode:
			n = t.Value
		default:
			return n
		}
	}
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// scalarText returns a value as the text Option.Set reads: a scalar as is,
// a sequence of scalars joined by commas (lists only).
func scalarText(n ast.Node, list bool) (string, error) {
	n = unwrap(n)
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "", nil
	case *ast.SequenceNode:
		if !list {
			return "", errors.New("want a single value, found a list")
		}
		parts := make([]string, 0, len(v.Values))
		for _, e := range v.Values {
			s, err := scalarText(e, false)
			if err != nil {
				return "", err
			}
			if strings.Contains(s, ",") {
				return "", fmt.Errorf("list item %q: one value per item", s)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	case *ast.MappingNode, *ast.MappingValueNode:
		return "", errors.New("want a value, found a mapping")
	case *ast.StringNode:
		return v.Value, nil
	case *ast.LiteralNode:
		return v.Value.Value, nil
	}
	if t := n.GetToken(); t != nil {
		return t.Value, nil
	}
	return "", fmt.Errorf("unsupported value %s", n.Type())
}

// suggest returns ` (did you mean "x"?)` for a close option name.
func suggest(key string, names []string) string {
	k := strings.ReplaceAll(strings.ToLower(key), "_", "-")
	if slices.Contains(names, k) {
		return fmt.Sprintf(" (did you mean %q?)", k)
	}
	best, bestD := "", 3
	for _, n := range names {
		if d := textdist.Levenshtein(k, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return " (see flowq detect --help for the options)"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
