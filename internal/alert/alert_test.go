package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/detect"
)

func sample() detect.Alert {
	ws := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	a := detect.Alert{
		Detector: detect.Exfiltration, Severity: detect.SeverityHigh, Src: "10.0.11.50", Dst: "203.0.113.77",
		WindowStart: ws, WindowEnd: ws.Add(time.Hour), Bytes: 1_400_000, Packets: 1400, Count: 7, Threshold: 1_000_000,
		FirstSeen: ws.Add(5 * time.Minute), LastSeen: ws.Add(12 * time.Minute), Ports: []int{443}, ENIs: []string{"eni-0a1b2c3d4e5f60011"},
		Evidence: []detect.Evidence{{ENI: "eni-0a1b2c3d4e5f60011", Src: "10.0.11.50", Dst: "203.0.113.77", SrcPort: 40001, DstPort: 443,
			Protocol: 6, Packets: 200, Bytes: 200_000, Start: ws.Add(5 * time.Minute), End: ws.Add(6 * time.Minute), Action: "ACCEPT"}},
		EvidenceMore: 6, Rule: "1 MB in 1h",
		SrcResource: &detect.Resource{ENI: "eni-0a1b2c3d4e5f60011", InstanceID: "i-0abc", Name: "orders-task",
			SecurityGroups: []detect.GroupRef{{ID: "sg-01", Name: "orders"}}},
	}
	a.ID = detect.AlertID(a.Key())
	a.Title = "exfiltration 10.0.11.50 -> 203.0.113.77 1.4 MB"
	return a
}

func TestJSONL(t *testing.T) {
	var buf bytes.Buffer
	a := sample()
	if err := alert.NewJSONL(&buf).Send(context.Background(), []detect.Alert{a, a}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "detector", "severity", "src", "dst", "window_start", "window_end", "bytes", "count", "evidence", "evidence_more", "rule", "src_resource"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, lines[0])
		}
	}
	var back detect.Alert
	if err := json.Unmarshal([]byte(lines[1]), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(back, a); diff != "" {
		t.Errorf("round trip (-got +want):\n%s", diff)
	}
}

func TestText(t *testing.T) {
	var buf bytes.Buffer
	if err := alert.NewText(&buf).Send(context.Background(), []detect.Alert{sample()}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-11-20 09:00  HIGH    exfiltration 10.0.11.50 -> 203.0.113.77 1.4 MB", "1.4 MB in 7 records", "ports 443", "10.0.11.50:40001 -> 203.0.113.77:443",
		"    +6 more\n", "rule 1 MB in 1h", "src orders-task i-0abc eni-0a1b2c3d4e5f60011 sg-01"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestSubject(t *testing.T) {
	a := sample()
	for _, tc := range []struct {
		name  string
		title string
		want  string
	}{
		{"plain", "exfiltration 10.0.11.50 -> 203.0.113.77 1.4 MB", "[flowq] exfiltration 10.0.11.50 -> 203.0.113.77 1.4 MB"},
		{"arrow and control characters", "a → b\nc\té", "[flowq] a -> b?c??"},
		{"IPv6 truncated", "exfiltration 2600:1f14:abcd:ef01:2345:6789:abcd:ef01 -> 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 1.4 MB",
			"[flowq] exfiltration 2600:1f14:abcd:ef01:2345:6789:abcd:ef01 -> 2001:db8:ffff:ffff:ffff:ffff:fff..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a.Title = tc.title
			got := alert.Subject("[flowq] ", &a)
			if got != tc.want {
				t.Errorf("subject = %q, want %q", got, tc.want)
			}
			if len(got) > alert.MaxSubject {
				t.Errorf("subject has %d characters", len(got))
			}
		})
	}
}
