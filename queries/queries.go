// Package queries holds flowq's named DuckDB queries over the flows view.
//
// Each query is a .sql file whose header comment names it, describes it in
// one line and declares its parameters:
//
//	-- name: rejected-from-subnet
//	-- description: Rejected flows whose source is in a subnet
//	-- param: cidr cidr 10.0.11.0/24 source subnet, IPv4 or IPv6
//
// A parameter line is "name type default description"; the default
// "required" makes the parameter mandatory. Types are int (a non-negative
// integer), cidr (an IPv4 or IPv6 prefix), ip (an address) and string. The
// body refers to a parameter as {{name}}; Render validates each value for its
// type and substitutes it as a properly quoted SQL literal, never as raw
// text. macros.sql holds the macros (in_cidr and friends) every session
// defines; see Macros.
package queries

import (
	"embed"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/flowq/flowq/internal/textdist"
)

//go:embed *.sql
var files embed.FS

// MacrosFile is the file of macro definitions, not a named query.
const MacrosFile = "macros.sql"

// Errors Get and Render wrap.
var (
	ErrUnknownQuery = errors.New("unknown query")
	ErrParam        = errors.New("bad parameter")
)

// Param is one declared parameter.
type Param struct {
	Name        string
	Type        string // int, cidr, ip or string
	Default     string // "" when Required
	Required    bool
	Description string
}

// Query is one named query.
type Query struct {
	Name        string
	Description string
	Params      []Param
	SQL         string // body with {{param}} placeholders
	File        string
}

var (
	headerRe      = regexp.MustCompile(`^--\s*(name|description|param):\s*(.*)$`)
	placeholderRe = regexp.MustCompile(`\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}`)
	nameRe        = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

var paramTypes = map[string]bool{"int": true, "cidr": true, "ip": true, "string": true}

// ParamSummary renders the query's parameters as "name=default ...", a
// required one as "name=<type>".
func (q Query) ParamSummary() string {
	var parts []string
	for _, p := range q.Params {
		if p.Required {
			parts = append(parts, p.Name+"=<"+p.Type+">")
		} else {
			parts = append(parts, p.Name+"="+p.Default)
		}
	}
	return strings.Join(parts, " ")
}

// List returns every named query, sorted by name.
func List() []Query {
	qs, err := load()
	if err != nil {
		panic(err) // impossible: the embedded files are tested
	}
	return qs
}

func load() ([]Query, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, e := range entries {
		if e.Name() == MacrosFile {
			continue
		}
		data, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		q, err := Parse(e.Name(), string(data))
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Parse reads a query file: its header comment, then the body.
func Parse(file, text string) (Query, error) {
	q := Query{File: file}
	var body []string
	inHeader := true
	for _, line := range strings.Split(text, "\n") {
		if inHeader {
			if m := headerRe.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				switch m[1] {
				case "name":
					q.Name = strings.TrimSpace(m[2])
				case "description":
					q.Description = strings.TrimSpace(m[2])
				case "param":
					p, err := parseParam(m[2])
					if err != nil {
						return q, fmt.Errorf("%s: %w", file, err)
					}
					q.Params = append(q.Params, p)
				}
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(line), "--") {
				continue
			}
			inHeader = false
		}
		body = append(body, line)
	}
	q.SQL = strings.TrimSpace(strings.Join(body, "\n"))
	if !nameRe.MatchString(q.Name) {
		return q, fmt.Errorf("%s: missing or bad '-- name:' header", file)
	}
	if q.Description == "" {
		return q, fmt.Errorf("%s: missing '-- description:' header", file)
	}
	declared := map[string]bool{}
	for _, p := range q.Params {
		declared[p.Name] = true
	}
	for _, m := range placeholderRe.FindAllStringSubmatch(q.SQL, -1) {
		if !declared[m[1]] {
			return q, fmt.Errorf("%s: {{%s}} is not a declared parameter", file, m[1])
		}
	}
	for _, p := range q.Params {
		if !p.Required {
			if _, err := Literal(p, p.Default); err != nil {
				return q, fmt.Errorf("%s: default of %s: %w", file, p.Name, err)
			}
		}
	}
	return q, nil
}

func parseParam(s string) (Param, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return Param{}, fmt.Errorf("param %q: want 'name type default description'", s)
	}
	p := Param{Name: f[0], Type: f[1], Default: f[2], Description: strings.Join(f[3:], " ")}
	if !paramTypes[p.Type] {
		return p, fmt.Errorf("param %s: unknown type %q", p.Name, p.Type)
	}
	if p.Default == "required" {
		p.Default, p.Required = "", true
	}
	return p, nil
}

// Get returns the named query. For an unknown name the error wraps
// ErrUnknownQuery, suggests the closest name and lists them all.
func Get(name string) (Query, error) {
	qs := List()
	var names []string
	for _, q := range qs {
		if q.Name == name {
			return q, nil
		}
		names = append(names, q.Name)
	}
	hint := ""
	if s := closest(name, names); s != "" {
		hint = fmt.Sprintf(": did you mean %q?", s)
	}
	return Query{}, fmt.Errorf("%w %q%s\nnamed queries: %s", ErrUnknownQuery, name, hint, strings.Join(names, ", "))
}

// Macros returns the SQL that defines flowq's macros.
func Macros() string {
	data, err := files.ReadFile(MacrosFile)
	if err != nil {
		panic(err) // impossible: embedded
	}
	return string(data)
}

// ParseArgs reads NAME=VALUE pairs (the values of --param) into a map;
// a pair without a name is an error wrapping ErrParam.
func ParseArgs(pairs []string) (map[string]string, error) {
	args := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, fmt.Errorf("%w --param %q: want NAME=VALUE", ErrParam, p)
		}
		args[k] = strings.TrimSpace(v)
	}
	return args, nil
}

// Render returns the query's SQL with every parameter substituted: the
// value in args, else the default. Unknown names in args, missing required
// parameters and values that are not of the parameter's type are errors
// wrapping ErrParam.
func (q Query) Render(args map[string]string) (string, error) {
	byName := map[string]Param{}
	for _, p := range q.Params {
		byName[p.Name] = p
	}
	for k := range args {
		if _, ok := byName[k]; !ok {
			var names []string
			for _, p := range q.Params {
				names = append(names, p.Name)
			}
			if len(names) == 0 {
				return "", fmt.Errorf("%w: %s takes no parameters, got %q", ErrParam, q.Name, k)
			}
			return "", fmt.Errorf("%w: %s has no parameter %q (it takes %s)", ErrParam, q.Name, k, strings.Join(names, ", "))
		}
	}
	lits := map[string]string{}
	for _, p := range q.Params {
		v, ok := args[p.Name]
		if !ok {
			if p.Required {
				return "", fmt.Errorf("%w: %s needs --param %s=<%s> (%s)", ErrParam, q.Name, p.Name, p.Type, p.Description)
			}
			v = p.Default
		}
		lit, err := Literal(p, v)
		if err != nil {
			return "", err
		}
		lits[p.Name] = lit
	}
	return placeholderRe.ReplaceAllStringFunc(q.SQL, func(m string) string {
		return lits[placeholderRe.FindStringSubmatch(m)[1]]
	}), nil
}

// Literal validates v for the parameter's type and returns it as a SQL
// literal: digits for int, a quoted canonical form for cidr and ip, a quoted
// string (quotes doubled) for string.
func Literal(p Param, v string) (string, error) {
	switch p.Type {
	case "int":
		n, err := strconv.ParseUint(strings.ReplaceAll(v, "_", ""), 10, 63)
		if err != nil {
			return "", fmt.Errorf("%w %s=%q: want a non-negative integer", ErrParam, p.Name, v)
		}
		return strconv.FormatUint(n, 10), nil
	case "cidr":
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return "", fmt.Errorf("%w %s=%q: want a CIDR such as 10.0.11.0/24 or 2001:db8::/64", ErrParam, p.Name, v)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		return quote(pfx.Masked().String()), nil
	case "ip":
		a, err := netip.ParseAddr(v)
		if err != nil {
			return "", fmt.Errorf("%w %s=%q: want an IPv4 or IPv6 address", ErrParam, p.Name, v)
		}
		return quote(a.Unmap().String()), nil
	case "string":
		return quote(v), nil
	}
	return "", fmt.Errorf("%w %s: unknown type %q", ErrParam, p.Name, p.Type)
}

// quote returns s as a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// closest returns the name nearest to s, or "" if none is close.
func closest(s string, names []string) string {
	best, bestD := "", 1<<30
	for _, n := range names {
		if strings.Contains(n, s) || strings.Contains(s, n) {
			return n
		}
		if d := textdist.Levenshtein(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}
