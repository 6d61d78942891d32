package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExitStatus: the exit statuses the README states. The old CLI exited 1
// for an unknown command and had no --version.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	writeFile(t, dir, "in/a.log", []byte(awsV2Text))
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "in")); code != 0 {
		t.Fatalf("ingest: %s", errb)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"version", []string{"--version"}, 0, "flowq ", ""},
		{"no command: help", nil, 0, "Exit status:", ""},
		{"help", []string{"--help"}, 0, "flowq demo", ""},
		{"unknown command", []string{"quer"}, 2, "", "Did you mean this?"},
		{"unknown flag", []string{"query", "--nope", "SELECT 1"}, 2, "", "unknown flag"},
		{"missing argument", []string{"query"}, 2, "", "accepts 1 arg"},
		{"bad output format", []string{"--lake", lake, "query", "-o", "yaml", "SELECT 1"}, 2, "", "want table, csv, json or markdown"},
		{"unreadable input (parse)", []string{"parse", filepath.Join(dir, "missing.log")}, 1, "", "missing.log"},
		{"unreadable input (ingest)", []string{"--lake", lake, "ingest", filepath.Join(dir, "missing.log")}, 1, "", "missing.log"},
		{"bad SQL", []string{"--lake", lake, "query", "SELEC 1"}, 1, "", "in query:"},
		{"malformed CIDR", []string{"--lake", lake, "query", "SELECT count(*) FROM flows WHERE in_cidr(srcaddr, '172.31.0.0/33')"}, 1, "", "malformed CIDR"},
		{"no lake", []string{"--lake", filepath.Join(dir, "nolake"), "query", "SELECT 1"}, 1, "", "no lake at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := runCLI(t, "", nil, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errb, tt.stderr) {
				t.Errorf("flowq %s: exit %d (want %d)\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), code, tt.code, out, errb)
			}
		})
	}
}

// TestScheduledQuery: a query naming columns the lake's files in range do
// not have, over an hour without data or with v2 records only, returns no
// rows (or NULLs) with exit 0. The old view took its columns from the files
// in range and failed on pkt_srcaddr.
func TestScheduledQuery(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	writeFile(t, dir, "in/a.log", []byte(awsV2Text))
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "in")); code != 0 {
		t.Fatalf("ingest: %s", errb)
	}
	const q = `SELECT pkt_srcaddr, tgw_id, typeof(hour) AS h, typeof(day) AS d, count(*) AS n FROM flows GROUP BY ALL ORDER BY ALL`
	for _, tt := range []struct{ since, until, want string }{
		{"2026-11-20T05:00:00Z", "2026-11-20T06:00:00Z", "pkt_srcaddr,tgw_id,h,d,n\n"},
		{"2026-11-20T08:00:00Z", "2026-11-20T09:00:00Z", "pkt_srcaddr,tgw_id,h,d,n\n,,INTEGER,INTEGER,4\n"},
	} {
		code, out, errb := runCLI(t, "", nil, "--lake", lake, "query", "-o", "csv", "--since", tt.since, "--until", tt.until, q)
		if code != 0 || out != tt.want {
			t.Errorf("[%s, %s): exit %d, %q, want %q\n%s", tt.since, tt.until, code, out, tt.want, errb)
		}
	}
}

// TestRawAndUTC: tables show 4.2 kB and UTC-headed times by default and
// exact numbers with --raw; the session's times are UTC whatever TZ says.
func TestRawAndUTC(t *testing.T) {
	t.Setenv("TZ", "Asia/Kolkata")
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	writeFile(t, dir, "in/a.log", []byte(awsV2Text))
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "in")); code != 0 {
		t.Fatalf("ingest: %s", errb)
	}
	const q = `SELECT to_timestamp(min(start)) AS first, sum(bytes) AS bytes FROM flows`
	for _, tt := range []struct {
		raw  bool
		want string
	}{
		{false, "first (UTC)          bytes\n-------------------  -------\n2026-11-20 08:00:10  17.4 kB\n"},
		{true, "first (UTC)          bytes\n-------------------  -----\n2026-11-20 08:00:10  17353\n"},
	} {
		args := []string{"--lake", lake, "query", q}
		if tt.raw {
			args = append(args, "--raw")
		}
		if code, out, errb := runCLI(t, "", nil, args...); code != 0 || out != tt.want {
			t.Errorf("raw=%v: exit %d\n%s\nwant\n%s%s", tt.raw, code, out, tt.want, errb)
		}
	}
}
