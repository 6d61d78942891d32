package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPortScanQueryAgreesWithDetector: over a one-minute scan amid the
// pair's ordinary database traffic (AWS's default format, written by hand:
// a connection to 5432 every 5 minutes from 14:00:03, the last ending at
// 15:00:07; the database's replies; 20 probes from 14:31:00, one of them to
// 5432), flowq run port-scan and flowq detect describe the same scan: 20
// ports, its 19 probes (the 5432 one is lost in the database's traffic),
// their bytes and their time span, 14:31:00 to 14:31:58, nothing of the
// database's connections.
func TestPortScanQueryAgreesWithDetector(t *testing.T) {
	dir := t.TempDir()
	hour := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	line := func(src, dst string, sport, dport int, packets, bytes int, at time.Time, d time.Duration, action string) {
		fmt.Fprintf(&b, "2 123456789012 eni-0a1b2c3d4e5f60014 %s %s %d %d 6 %d %d %d %d %s OK\n",
			src, dst, sport, dport, packets, bytes, at.Unix(), at.Add(d).Unix(), action)
	}
	for i := range 12 {
		at := hour.Add(3*time.Second + time.Duration(i)*5*time.Minute)
		if i == 11 {
			at = hour.Add(59*time.Minute + 7*time.Second)
		}
		line("10.0.12.51", "10.0.21.100", 50000+i, 5432, 15, 4700, at, time.Minute, "ACCEPT")
		line("10.0.21.100", "10.0.12.51", 5432, 50000+i, 12, 9100, at, time.Minute, "ACCEPT")
	}
	for i, port := range []int{21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200} {
		action := "REJECT"
		if port == 5432 {
			action = "ACCEPT"
		}
		line("10.0.12.51", "10.0.21.100", 45000+i, port, 1, 60, hour.Add(31*time.Minute+time.Duration(i)*3*time.Second), time.Second, action)
	}
	lake := filepath.Join(dir, "lake")
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", writeFile(t, dir, "flows.log", []byte(b.String()))); code != 0 {
		t.Fatalf("ingest: %s%s", out, errb)
	}

	code, stdout, stderr := runCLI(t, "", nil, "--lake", lake, "detect", "--detectors", "portscan", "-o", "json")
	if code != 0 {
		t.Fatalf("detect: exit %d: %s", code, stderr)
	}
	var alert struct {
		Ports     []int     `json:"ports"`
		Count     int64     `json:"count"`
		Bytes     int64     `json:"bytes"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
		Evidence  []struct {
			DstPort int `json:"dstport"`
		} `json:"evidence"`
		More int64 `json:"evidence_more"`
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &alert) != nil {
		t.Fatalf("detect: want one alert, got %q", stdout)
	}
	code, stdout, stderr = runCLI(t, "", nil, "--lake", lake, "run", "port-scan", "-o", "json")
	if code != 0 {
		t.Fatalf("run port-scan: exit %d: %s", code, stderr)
	}
	var row struct {
		Ports     int64  `json:"ports"`
		Probes    int64  `json:"probes"`
		Bytes     int64  `json:"bytes"`
		FirstSeen string `json:"first_seen"`
		LastSeen  string `json:"last_seen"`
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &row) != nil {
		t.Fatalf("run port-scan: want one row, got %q", stdout)
	}
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, strings.Replace(s, " ", "T", 1))
		if err != nil {
			t.Fatalf("time %q: %v", s, err)
		}
		return v
	}
	first, last := hour.Add(31*time.Minute), hour.Add(31*time.Minute+58*time.Second)
	if len(alert.Ports) != 20 || alert.Count != 19 || alert.Bytes != 19*60 || !alert.FirstSeen.Equal(first) || !alert.LastSeen.Equal(last) {
		t.Errorf("detector: %d ports, %d records, %d bytes, %v to %v; want 20, 19, 1140, %v to %v",
			len(alert.Ports), alert.Count, alert.Bytes, alert.FirstSeen, alert.LastSeen, first, last)
	}
	if row.Ports != int64(len(alert.Ports)) || row.Probes != alert.Count || row.Bytes != alert.Bytes ||
		!ts(row.FirstSeen).Equal(alert.FirstSeen) || !ts(row.LastSeen).Equal(alert.LastSeen) {
		t.Errorf("run port-scan %+v disagrees with the detector's alert %+v", row, alert)
	}
	for _, ev := range alert.Evidence {
		if ev.DstPort == 5432 {
			t.Errorf("evidence quotes the database's traffic: %+v", alert.Evidence)
		}
	}
	if alert.More != alert.Count-int64(len(alert.Evidence)) {
		t.Errorf("evidence: %d records +%d more, of %d", len(alert.Evidence), alert.More, alert.Count)
	}
}
