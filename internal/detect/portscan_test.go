package detect_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
)

// awsRecord is one record of AWS's default flow-log format (version 2).
type awsRecord struct {
	src, dst         string
	srcPort, dstPort int
	packets, bytes   int64
	start, end       time.Time
	action           string
}

const awsHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"

func (r awsRecord) line() string {
	return fmt.Sprintf("2 123456789012 eni-0a1b2c3d4e5f60014 %s %s %d %d 6 %d %d %d %d %s OK\n",
		r.src, r.dst, r.srcPort, r.dstPort, r.packets, r.bytes, r.start.Unix(), r.end.Unix(), r.action)
}

// scanAmidTraffic returns a one-minute scan of 20 ports of a database host
// (14:31:00 to 14:31:57, one SYN each, 5432 accepted and the rest
// rejected) amid the pair's ordinary database traffic (a connection to 5432
// every 5 minutes from 14:00:03, the last ending at 15:00:07, after the
// window) and the database's replies, as AWS writes them.
func scanAmidTraffic() []awsRecord {
	task, db := "10.0.12.51", "10.0.21.100"
	hour := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	var recs []awsRecord
	for i := range 12 {
		at := hour.Add(3*time.Second + time.Duration(i)*5*time.Minute)
		if i == 11 {
			at = hour.Add(59*time.Minute + 7*time.Second)
		}
		recs = append(recs,
			awsRecord{task, db, 50000 + i, 5432, 15, 4700, at, at.Add(time.Minute), "ACCEPT"},
			awsRecord{db, task, 5432, 50000 + i, 12, 9100, at, at.Add(time.Minute), "ACCEPT"})
	}
	for i, port := range []int{21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200} {
		at := hour.Add(31*time.Minute + time.Duration(i)*3*time.Second)
		action := "REJECT"
		if port == 5432 {
			action = "ACCEPT"
		}
		recs = append(recs, awsRecord{task, db, 45000 + i, port, 1, 60, at, at.Add(time.Second), action})
	}
	slices.SortStableFunc(recs, func(a, b awsRecord) int { return a.start.Compare(b.start) })
	return recs
}

// scanOracle computes, independently of the detector, what its alert of the
// pair in the window must say: every distinct port, and the scan's own
// records (those of ports tried at most twice) with their span, ends cut at
// the window's end.
func scanOracle(recs []awsRecord, src, dst string, from, to time.Time) (ports int, count, bytes int64, first, last time.Time, probePorts map[int]bool) {
	tries := map[int][]awsRecord{}
	for _, r := range recs {
		if r.src == src && r.dst == dst && !r.start.Before(from) && r.start.Before(to) {
			tries[r.dstPort] = append(tries[r.dstPort], r)
		}
	}
	probePorts = map[int]bool{}
	for port, rs := range tries {
		if len(rs) > 2 {
			continue
		}
		probePorts[port] = true
		for _, r := range rs {
			count++
			bytes += r.bytes
			if first.IsZero() || r.start.Before(first) {
				first = r.start
			}
			end := r.end
			if end.After(to) {
				end = to
			}
			if end.After(last) {
				last = end
			}
		}
	}
	return len(tries), count, bytes, first, last, probePorts
}

func batchOf(t *testing.T, recs []awsRecord) arrow.RecordBatch {
	t.Helper()
	var b strings.Builder
	b.WriteString(awsHeader)
	for _, r := range recs {
		b.WriteString(r.line())
	}
	rd := parse.NewBytesReader([]byte(b.String()), parse.Options{Name: "scan.log"})
	t.Cleanup(rd.Release)
	if !rd.Next() {
		t.Fatalf("no batch: %v", rd.Err())
	}
	rec := rd.RecordBatch()
	rec.Retain()
	t.Cleanup(rec.Release)
	return rec
}

// TestPortScanOwnRecords: a port-scan alert describes the scan, not the
// pair's ordinary traffic around it: its record count, bytes and span are
// the probes' (the 5432 connections before and after are left out, and
// nothing ends after the window), its evidence quotes probes only with
// "+N more" for the rest, and it lists every port tried. Delivered in one
// batch or in two, the alert is the same.
func TestPortScanOwnRecords(t *testing.T) {
	recs := scanAmidTraffic()
	from := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	ports, count, bytes, first, last, probePorts := scanOracle(recs, "10.0.12.51", "10.0.21.100", from, from.Add(time.Hour))
	if ports != 20 || count != 19 || first != from.Add(31*time.Minute) || probePorts[5432] {
		t.Fatalf("oracle: %d ports, %d probes from %v, 5432 a probe: %v", ports, count, first, probePorts[5432])
	}
	split := from.Add(31*time.Minute + 20*time.Second) // 7 ports before, 13 after
	for _, tc := range []struct {
		name    string
		batches [][]awsRecord
	}{
		{"one batch", [][]awsRecord{recs}},
		{"two batches", func() [][]awsRecord {
			i := slices.IndexFunc(recs, func(r awsRecord) bool { return !r.start.Before(split) })
			return [][]awsRecord{recs[:i], recs[i:]}
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := detect.DefaultConfig()
			cfg.Retention = 0
			cfg.Detectors = []string{detect.PortScan}
			eng, err := detect.New(cfg, detect.NewMemoryState(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var alerts []detect.Alert
			for i, b := range tc.batches {
				as, err := eng.Process(context.Background(), fmt.Sprint("b", i), batchOf(t, b))
				if err != nil {
					t.Fatal(err)
				}
				alerts = append(alerts, as...)
			}
			if len(alerts) != 1 {
				t.Fatalf("%d alerts, want 1: %+v", len(alerts), alerts)
			}
			a := alerts[0]
			if len(a.Ports) != ports || a.Count != count || a.Bytes != bytes || !a.FirstSeen.Equal(first) || !a.LastSeen.Equal(last) {
				t.Errorf("alert: %d ports, %d records, %d bytes, %v to %v; want %d, %d, %d, %v to %v",
					len(a.Ports), a.Count, a.Bytes, a.FirstSeen, a.LastSeen, ports, count, bytes, first, last)
			}
			if a.LastSeen.After(a.WindowEnd) || a.FirstSeen.Before(a.WindowStart) {
				t.Errorf("alert spans %v to %v, outside its window %v to %v", a.FirstSeen, a.LastSeen, a.WindowStart, a.WindowEnd)
			}
			if len(a.Evidence) != cfg.Evidence || a.EvidenceMore != count-int64(len(a.Evidence)) {
				t.Errorf("evidence: %d records +%d more, want %d +%d", len(a.Evidence), a.EvidenceMore, cfg.Evidence, count-int64(cfg.Evidence))
			}
			for _, ev := range a.Evidence {
				if !probePorts[ev.DstPort] || ev.Start.Before(first) || ev.Action != "REJECT" {
					t.Errorf("evidence quotes %+v, not a probe of the scan", ev)
				}
			}
		})
	}
}

// TestAlertSpanWithinWindow: an alert's last_seen never lies after its
// window, even when its last record ends after the window closes.
func TestAlertSpanWithinWindow(t *testing.T) {
	at := time.Date(2026, 11, 29, 14, 59, 30, 0, time.UTC)
	rec := batchOf(t, []awsRecord{{"10.0.11.50", "203.0.113.77", 43512, 443, 1400, 1_500_000, at, at.Add(2 * time.Minute), "ACCEPT"}})
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	eng, err := detect.New(cfg, detect.NewMemoryState(), nil)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := eng.Process(context.Background(), "late-end", rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) == 0 {
		t.Fatal("no alert")
	}
	for _, a := range alerts {
		if a.LastSeen.After(a.WindowEnd) || a.FirstSeen.Before(a.WindowStart) {
			t.Errorf("%s alert spans %v to %v, outside its window %v to %v", a.Detector, a.FirstSeen, a.LastSeen, a.WindowStart, a.WindowEnd)
		}
	}
}
