package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// runCLI runs flowq in-process and returns its exit status and output.
func runCLI(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

const goodLine = "2 123456789012 eni-0a1b2c3d4e5f60011 10.0.11.50 10.0.21.100 49152 5432 6 20 4249 1795132800 1795132860 ACCEPT OK"

func TestParseCommand(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "flows.log.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("version srcaddr dstaddr bytes action\n2 10.0.11.50 203.0.113.77 1400000 ACCEPT\n"))
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte(goodLine+"\n2 x\n"+goodLine+"\n"), 0o644)

	tests := []struct {
		name       string
		args       []string
		stdin      string
		code       int
		records    int
		stderrHas  string
		firstField string
	}{
		{"stdin default format", []string{"parse"}, goodLine + "\n", 0, 1, "", `"srcaddr":"10.0.11.50"`},
		{"dash means stdin", []string{"parse", "-"}, goodLine + "\n" + goodLine, 0, 2, "", `"version":2`},
		{"gzip with header", []string{"parse", gz}, "", 0, 1, "", `{"version":2,"srcaddr":"10.0.11.50","dstaddr":"203.0.113.77","bytes":1400000,"action":"ACCEPT"}`},
		{"bad line keeps neighbours", []string{"parse", bad}, "", 1, 2, bad + ":2: wrong number of fields", ""},
		{"custom format", []string{"parse", "--format", "${srcaddr} ${bytes}"}, "10.0.0.1 -\n", 0, 1, "", `{"srcaddr":"10.0.0.1","bytes":null}`},
		{"seed's wrong field name", []string{"parse", "--format", "${version} ${tcpflags}"}, "", 2, 0, "did you mean ${tcp-flags}?", ""},
		{"missing file", []string{"parse", filepath.Join(dir, "nope.log")}, "", 1, 0, "no such file", ""},
		{"unknown flag", []string{"parse", "--frmat", "x"}, "", 2, 0, "unknown flag", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.stdin, nil, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if out == "" {
				lines = nil
			}
			if len(lines) != tc.records {
				t.Fatalf("%d records, want %d:\n%s", len(lines), tc.records, out)
			}
			for _, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Fatalf("invalid JSON line %q", l)
				}
			}
			if tc.firstField != "" && !strings.Contains(lines[0], tc.firstField) {
				t.Errorf("first record %s does not contain %s", lines[0], tc.firstField)
			}
			if tc.stderrHas != "" && !strings.Contains(errOut, tc.stderrHas) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.stderrHas)
			}
		})
	}
}

func TestBenchCommandJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "", nil, "bench", "--records", "3000", "--rounds", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench --json output %q: %v", out, err)
	}
	for _, k := range []string{"records", "bytes", "flowq_mb_s", "stdlib_mb_s", "duckdb_mb_s", "flowq_cpu_mb_s", "ratio_vs_duckdb", "ratio_vs_stdlib"} {
		v, ok := res[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, res[k])
		}
	}
	if res["records"].(float64) != 3000 {
		t.Errorf("records = %v, want 3000", res["records"])
	}
}

func TestBenchCommandInputWithHeader(t *testing.T) {
	p := filepath.Join(t.TempDir(), "in.log")
	os.WriteFile(p, []byte("version srcaddr dstaddr bytes action\n2 10.0.0.1 10.0.0.2 5 ACCEPT\n2 10.0.0.1 10.0.0.3 - REJECT\n"), 0o644)
	code, out, errOut := runCLI(t, "", nil, "bench", "--input", p, "--rounds", "1")
	if code != 0 || !strings.Contains(out, "2 records") || !strings.Contains(out, "DuckDB's CSV reader") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestParseSummarisesRepeatedErrors: a file in another format than the one
// given rejects every line; flowq says so once instead of printing 200,000
// errors.
func TestParseSummarisesRepeatedErrors(t *testing.T) {
	v5 := "5 123456789012 eni-0a1b2c3d4e5f60011 10.0.11.50 10.0.21.100 49152 5432 6 20 4249 1795132800 1795132860 ACCEPT OK vpc-1 subnet-1\n"
	code, out, errOut := runCLI(t, strings.Repeat(v5, 200_000), nil, "parse")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, %d bytes of output; want 1 and none", code, len(out))
	}
	want := "all 200,000 lines have 16 fields; the format has 14: does the file need --format?"
	if !strings.Contains(errOut, want) {
		t.Errorf("stderr does not say %q:\n%s", want, errOut)
	}
	if n := strings.Count(errOut, "\n"); n > 15 {
		t.Errorf("stderr has %d lines, want a summary:\n%s", n, errOut)
	}
}

// TestParseTruncatedGzip: a gzip stream cut short is an error (exit 1)
// naming the file, after the records it did hold.
func TestParseTruncatedGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Repeat(goodLine+"\n", 1000)))
	zw.Close()
	p := filepath.Join(t.TempDir(), "cut.log.gz")
	os.WriteFile(p, buf.Bytes()[:buf.Len()-8], 0o644)
	code, out, errOut := runCLI(t, "", nil, "parse", p)
	if code != 1 || !strings.Contains(errOut, "cut.log.gz:1000: gzip stream cut short") || strings.Count(out, "\n") != 1000 {
		t.Fatalf("exit %d, %d records\n%s", code, strings.Count(out, "\n"), errOut)
	}
}
