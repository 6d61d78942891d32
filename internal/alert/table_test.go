package alert

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
)

// TestTable: one row per alert in window order, at Flush; ports beyond 8
// and destinations beyond 2 are summarised; no alerts print nothing.
func TestTable(t *testing.T) {
	var buf bytes.Buffer
	tab := NewTable(&buf, 0)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	_ = tab.Send(context.Background(), []detect.Alert{
		{ID: "b", WindowStart: at.Add(time.Hour), Severity: "high", Detector: "portscan", Src: "10.0.12.51", Dst: "10.0.21.100",
			Ports: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Count: 10},
		{ID: "a", WindowStart: at, Severity: "medium", Detector: "reject", Src: "10.0.11.51", Dsts: []string{"10.0.21.1", "10.0.21.2", "10.0.21.3"}, Count: 1234},
	})
	if buf.Len() != 0 {
		t.Fatalf("printed before Flush: %q", buf.String())
	}
	if err := tab.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var rows []string
	for _, l := range lines {
		if strings.HasPrefix(l, "2026-") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 || !strings.Contains(rows[0], "2026-11-20 10:00") || !strings.Contains(rows[0], "10.0.21.1,10.0.21.2,…") ||
		!strings.Contains(rows[0], "1,234") || !strings.Contains(rows[1], "1,2,3,4,5,6,7,8,+2") {
		t.Errorf("table:\n%s", buf.String())
	}
	var empty bytes.Buffer
	if err := NewTable(&empty, 0).Flush(); err != nil || empty.Len() != 0 {
		t.Errorf("no alerts: %v %q", err, empty.String())
	}
	for _, f := range []string{"table", "text", "json", "jsonl", "ndjson"} {
		if _, err := ForFormat(f, &buf, 0); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := ForFormat("yaml", &buf, 0); err == nil || err.Error() != `"yaml": want table, text or json` {
		t.Errorf("yaml: %v", err)
	}
}

// TestTableNames: with the inventory's names, the table (flowq detect's
// default output) shows them beside the addresses, as titles do: the
// responder's first question is what 10.0.11.50 is. Before, only -o text
// and -o json carried them.
func TestTableNames(t *testing.T) {
	var buf bytes.Buffer
	tab := NewTable(&buf, 0)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	_ = tab.Send(context.Background(), []detect.Alert{
		{ID: "a", WindowStart: at, Severity: "high", Detector: "exfiltration", Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 1_400_000,
			SrcResource: &detect.Resource{ENI: "eni-1", Name: "tradai-backend-api"}},
		{ID: "b", WindowStart: at.Add(time.Hour), Severity: "medium", Detector: "reject", Src: "10.0.11.51", Dsts: []string{"10.0.21.100"},
			SrcResource: &detect.Resource{Name: "tradai-data-collection"}, DstResource: &detect.Resource{Name: "tradai-postgres"}},
		{ID: "c", WindowStart: at.Add(2 * time.Hour), Severity: "medium", Detector: "reject", Src: "10.0.12.9", Dsts: []string{"10.0.21.1"},
			SrcResource: &detect.Resource{SubnetName: "tradai-private-b"}},
	})
	if err := tab.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"10.0.11.50 (tradai-backend-api)", "10.0.11.51 (tradai-data-collection)", "10.0.21.100 (tradai-postgres)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "10.0.12.9 (") || strings.Contains(out, "203.0.113.77 (") {
		t.Errorf("a name for an address without one:\n%s", out)
	}
}
