package queries

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestList(t *testing.T) {
	var names []string
	for _, q := range List() {
		names = append(names, q.Name)
		if _, err := q.Render(nil); err != nil && !q.hasRequired() {
			t.Errorf("%s: render with defaults: %v", q.Name, err)
		}
		if q.File != q.Name+".sql" {
			t.Errorf("%s lives in %s", q.Name, q.File)
		}
	}
	want := []string{"exfil-candidates", "flows-for-ip", "log-health", "port-scan", "rejected-from-subnet", "rejects-by-source", "top-talkers", "traffic-by-subnet", "unused-rules"}
	if diff := cmp.Diff(names, want); diff != "" {
		t.Errorf("names (-got +want):\n%s", diff)
	}
}

func (q Query) hasRequired() bool {
	for _, p := range q.Params {
		if p.Required {
			return true
		}
	}
	return false
}

func TestGetUnknown(t *testing.T) {
	_, err := Get("top-talker")
	if !errors.Is(err, ErrUnknownQuery) || !strings.Contains(err.Error(), `did you mean "top-talkers"?`) || !strings.Contains(err.Error(), "log-health") {
		t.Errorf("err = %v", err)
	}
}

func TestRender(t *testing.T) {
	q, err := Parse("t.sql", "-- name: t\n-- description: test\n-- param: n int 10 rows\n-- param: c cidr 10.0.11.0/24 net\n-- param: ip ip required addr\n-- param: s string x text\nSELECT {{n}}, {{c}}, {{ ip }}, {{s}}")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    map[string]string
		want    string
		wantErr string
	}{
		{"defaults", map[string]string{"ip": "10.0.0.1"}, "SELECT 10, '10.0.11.0/24', '10.0.0.1', 'x'", ""},
		{"canonical", map[string]string{"ip": "2001:DB8::0:1", "c": "10.0.11.7/24", "n": "1_000"}, "SELECT 1000, '10.0.11.0/24', '2001:db8::1', 'x'", ""},
		{"bare address as cidr", map[string]string{"ip": "::ffff:10.0.0.1", "c": "2001:db8::1"}, "SELECT 10, '2001:db8::1/128', '10.0.0.1', 'x'", ""},
		{"quotes", map[string]string{"ip": "10.0.0.1", "s": "a'; DROP TABLE flows; --"}, "SELECT 10, '10.0.11.0/24', '10.0.0.1', 'a''; DROP TABLE flows; --'", ""},
		{"missing required", nil, "", "needs --param ip=<ip>"},
		{"injection in int", map[string]string{"ip": "10.0.0.1", "n": "1; DROP TABLE flows"}, "", "want a non-negative integer"},
		{"negative", map[string]string{"ip": "10.0.0.1", "n": "-1"}, "", "want a non-negative integer"},
		{"bad cidr", map[string]string{"ip": "10.0.0.1", "c": "10.0.11.0/33"}, "", "want a CIDR"},
		{"bad ip", map[string]string{"ip": "10.0.0.1'"}, "", "want an IPv4 or IPv6 address"},
		{"unknown param", map[string]string{"ip": "10.0.0.1", "x": "1"}, "", `no parameter "x" (it takes n, c, ip, s)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := q.Render(tt.args)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrParam) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"SELECT 1", "name"},
		{"-- name: x\nSELECT 1", "description"},
		{"-- name: x\n-- description: d\nSELECT {{y}}", "not a declared parameter"},
		{"-- name: x\n-- description: d\n-- param: y float 1 f\nSELECT {{y}}", "unknown type"},
		{"-- name: x\n-- description: d\n-- param: y int ten f\nSELECT {{y}}", "default of y"},
	} {
		if _, err := Parse("f.sql", tt.text); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want %q", tt.text, err, tt.want)
		}
	}
}

func TestParamSummary(t *testing.T) {
	q, err := Get("flows-for-ip")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.ParamSummary(), "ip=<ip> limit=1000"; got != want {
		t.Errorf("ParamSummary() = %q, want %q", got, want)
	}
	if got := (Query{}).ParamSummary(); got != "" {
		t.Errorf("no params: %q, want empty", got)
	}
}
