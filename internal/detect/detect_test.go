package detect_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/detecttest"
	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
)

func TestMemoryState(t *testing.T) {
	detecttest.Run(t, func(*testing.T) detect.State { return detect.NewMemoryState() })
}

func TestMissingColumns(t *testing.T) {
	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fm := parse.MustParseFormat("${srcaddr} ${dstaddr} ${bytes}")
	rd := parse.NewBytesReader([]byte("10.0.11.50 203.0.113.77 2000000\n"), parse.Options{Format: fm})
	defer rd.Release()
	if !rd.Next() {
		t.Fatal("no batch")
	}
	if _, err := eng.Process(context.Background(), "x", rd.RecordBatch()); !errors.Is(err, detect.ErrColumns) {
		t.Errorf("err = %v, want ErrColumns", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*detect.Config)
		ok   bool
	}{
		{"default", func(*detect.Config) {}, true},
		{"no watch", func(c *detect.Config) { c.Watch = nil }, false},
		{"window too short", func(c *detect.Config) { c.Window = 30 * time.Second }, false},
		{"window fraction", func(c *detect.Config) { c.Window = 90*time.Second + time.Millisecond }, false},
		{"unknown detector", func(c *detect.Config) { c.Detectors = []string{"exfil"} }, false},
		{"reject threshold 0", func(c *detect.Config) { c.RejectThreshold = 0 }, false},
		{"scan ports 1", func(c *detect.Config) { c.ScanPorts = 1 }, false},
		{"evidence too many", func(c *detect.Config) { c.Evidence = detect.MaxEvidence + 1 }, false},
		{"bad port range", func(c *detect.Config) { c.RejectPorts = []detect.PortRange{{Lo: 9, Hi: 1}} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := detect.DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestParseHelpers(t *testing.T) {
	ps, err := detectconfig.ParsePorts("22, 80,8000-8100")
	if err != nil || fmt.Sprint(ps) != "[22 80 8000-8100]" {
		t.Errorf("ParsePorts = %v, %v", ps, err)
	}
	for _, bad := range []string{"x", "70000", "10-5", "1-x"} {
		if _, err := detectconfig.ParsePorts(bad); err == nil {
			t.Errorf("ParsePorts(%q): no error", bad)
		}
	}
	pfx, err := detectconfig.ParsePrefixes("10.0.11.7/24,2001:DB8::1,::ffff:10.1.0.0/112")
	if err != nil || fmt.Sprint(pfx) != "[10.0.11.0/24 2001:db8::1/128 10.1.0.0/16]" {
		t.Errorf("ParsePrefixes = %v, %v", pfx, err)
	}
}

// poison overwrites buffers when they are freed, as a recycling allocator
// (parse.Pool) would by reusing them.
type poison struct{ memory.Allocator }

func (p poison) Free(b []byte) {
	for i := range b {
		b[i] = 'X'
	}
	p.Allocator.Free(b)
}

// TestAlertsOutliveBatch: an alert's strings do not point into the record
// batch, which the caller may release and recycle.
func TestAlertsOutliveBatch(t *testing.T) {
	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return time.Unix(detecttest.Base+600, 0) })
	if err != nil {
		t.Fatal(err)
	}
	recs := []detecttest.Rec{
		{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 2_000_000, At: 5, ENI: "eni-0aaaabbbbcccc0001"},
		{Src: "10.0.11.51", Dst: "10.0.21.100", DstPort: 22, Bytes: 60, At: 6, Action: "REJECT", ENI: "eni-0aaaabbbbcccc0002"},
	}
	rd := parse.NewBytesReader(detecttest.Text(detecttest.Format, recs), parse.Options{Format: detecttest.Format, Allocator: poison{memory.NewGoAllocator()}})
	if !rd.Next() {
		t.Fatal("no batch")
	}
	alerts, err := eng.Process(context.Background(), "b", rd.RecordBatch())
	if err != nil {
		t.Fatal(err)
	}
	rd.Release()
	got := fmt.Sprintf("%+v", alerts)
	if strings.Contains(got, "XX") || !strings.Contains(got, "eni-0aaaabbbbcccc0001") || !strings.Contains(got, "REJECT") {
		t.Errorf("alerts after release: %s", got)
	}
}

// TestSlicedBatches: a record batch sliced at any offset (validity bitmaps
// not byte-aligned) gives the same alerts and counters as the same records
// parsed on their own.
func TestSlicedBatches(t *testing.T) {
	var recs []detecttest.Rec
	for i := range 40 {
		switch i % 5 {
		case 0:
			recs = append(recs, detecttest.Rec{Status: parse.StatusNoData, At: int64(i)})
		case 1:
			recs = append(recs, detecttest.Rec{Src: "10.0.11.51", Dst: "10.0.21.100", DstPort: 20 + i, Bytes: 60, At: int64(i), Action: "REJECT"})
		default:
			recs = append(recs, detecttest.Rec{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 100_000, At: int64(i), Dir: "egress"})
		}
	}
	run := func(t *testing.T, recs []detecttest.Rec, from int) (string, detect.Summary) {
		eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return time.Unix(detecttest.Base+600, 0) })
		if err != nil {
			t.Fatal(err)
		}
		rd := parse.NewBytesReader(detecttest.Text(detecttest.Format, recs), parse.Options{Format: detecttest.Format})
		defer rd.Release()
		if !rd.Next() {
			t.Fatal("no batch")
		}
		rec := rd.RecordBatch().NewSlice(int64(from), rd.RecordBatch().NumRows())
		defer rec.Release()
		alerts, err := eng.Process(context.Background(), "b", rec)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range alerts {
			out = append(out, fmt.Sprintf("%s %s %s %d %d %v", a.Detector, a.Src, a.Dst, a.Bytes, a.Count, a.Ports))
		}
		return strings.Join(out, "\n"), eng.Summary()
	}
	for _, from := range []int{1, 3, 8, 13, 16, 17} {
		got, gs := run(t, recs, from)
		want, ws := run(t, recs[from:], 0)
		if got != want || gs.Skipped != ws.Skipped || gs.Rejects != ws.Rejects || gs.Records != ws.Records {
			t.Errorf("slice from %d:\n%s\n%+v\nwant\n%s\n%+v", from, got, gs, want, ws)
		}
	}
}

// TestPortScanEvidence: a scan's evidence shows the ports it tried, one
// record each, not the host's busiest ordinary connection repeated.
func TestPortScanEvidence(t *testing.T) {
	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return time.Unix(detecttest.Base+600, 0) })
	if err != nil {
		t.Fatal(err)
	}
	var recs []detecttest.Rec
	for i := 0; i < 8; i++ { // ordinary database traffic first
		recs = append(recs, detecttest.Rec{Src: "10.0.12.51", Dst: "10.0.21.100", DstPort: 5432, Bytes: 9000, At: int64(i)})
	}
	for i, port := range []int{21, 22, 23, 25, 80, 110, 139, 445, 3306, 3389, 6379} {
		recs = append(recs, detecttest.Rec{Src: "10.0.12.51", Dst: "10.0.21.100", DstPort: port, Bytes: 60, At: int64(20 + i), Action: "REJECT"})
	}
	rd := parse.NewBytesReader(detecttest.Text(detecttest.Format, recs), parse.Options{Format: detecttest.Format})
	defer rd.Release()
	if !rd.Next() {
		t.Fatal("no batch")
	}
	alerts, err := eng.Process(context.Background(), "scan", rd.RecordBatch())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.Detector != detect.PortScan {
			continue
		}
		seen := map[int]bool{}
		for _, ev := range a.Evidence {
			if seen[ev.DstPort] {
				t.Errorf("evidence repeats port %d: %+v", ev.DstPort, a.Evidence)
			}
			seen[ev.DstPort] = true
		}
		if len(a.Evidence) == 0 || len(seen) != len(a.Evidence) {
			t.Fatalf("evidence = %+v", a.Evidence)
		}
		return
	}
	t.Fatalf("no port-scan alert in %+v", alerts)
}
