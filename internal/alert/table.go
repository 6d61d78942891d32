package alert

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/render"
)

// Table is a Sink that prints alerts as one aligned table, one row per
// alert in window order, at Flush (its columns are sized over every alert).
type Table struct {
	w      io.Writer
	width  int
	alerts []detect.Alert
}

// NewTable returns a Table writing to w, wrapped to width columns (0: no
// limit).
func NewTable(w io.Writer, width int) *Table { return &Table{w: w, width: width} }

// Send keeps the alerts for Flush.
func (t *Table) Send(_ context.Context, alerts []detect.Alert) error {
	t.alerts = append(t.alerts, alerts...)
	return nil
}

// Flush prints the table; nothing when there were no alerts.
func (t *Table) Flush() error {
	cols := []string{"window_start", "severity", "detector", "src", "dst", "bytes", "count", "ports", "id"}
	rows := make([][]string, 0, len(t.alerts))
	for _, al := range t.alerts {
		ports := make([]string, 0, min(len(al.Ports), 8))
		for i, p := range al.Ports {
			if i == 8 {
				ports = append(ports, fmt.Sprintf("+%d", len(al.Ports)-8))
				break
			}
			ports = append(ports, strconv.Itoa(p))
		}
		dst := named(al.Dst, al.DstResource)
		switch {
		case al.Dst == "" && len(al.Dsts) == 1:
			dst = named(al.Dsts[0], al.DstResource)
		case al.Dst == "" && len(al.Dsts) > 0:
			dst = strings.Join(al.Dsts[:min(len(al.Dsts), 2)], ",")
			if len(al.Dsts) > 2 {
				dst += ",…"
			}
		}
		rows = append(rows, []string{al.WindowStart.UTC().Format("2006-01-02 15:04"), al.Severity, al.Detector, named(al.Src, al.SrcResource), dst,
			render.Bytes(al.Bytes), render.Count(al.Count), strings.Join(ports, ","), al.ID})
	}
	slices.SortStableFunc(rows, func(x, y []string) int { return strings.Compare(x[0], y[0]) })
	if len(rows) == 0 {
		return nil
	}
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = make([]any, len(r))
		for j, s := range r {
			vals[i][j] = s
		}
	}
	return render.Write(t.w, cols, vals, render.Options{Format: render.Table, Width: t.width})
}

// named is an address with its resource's name, "10.0.11.50
// (tradai-backend-api)", as titles write it; the address alone without one.
func named(addr string, r *detect.Resource) string {
	if addr == "" || r == nil || r.Name == "" {
		return addr
	}
	return addr + " (" + r.Name + ")"
}

// ForFormat returns the sink printing alerts to w in format: table (Table,
// wrapped to width), text (with evidence) or json (JSON Lines; also jsonl,
// ndjson).
func ForFormat(format string, w io.Writer, width int) (Sink, error) {
	switch format {
	case "table":
		return NewTable(w, width), nil
	case "text":
		return NewText(w), nil
	case "json", "jsonl", "ndjson":
		return NewJSONL(w), nil
	}
	return nil, fmt.Errorf("%q: want table, text or json", format)
}
