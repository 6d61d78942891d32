// Package detecttest is the behavioural test suite of detect.State
// implementations: the same crafted flows, batches and expected alerts run
// against the in-memory state and against DynamoDB (on moto_server).
package detecttest

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// Base is the start of the first window of every case: 2023-11-14 22:00 UTC.
const Base = 1700000000 - 1700000000%3600

// Format has every column the detectors read.
var Format = parse.MustParseFormat("${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} " +
	"${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-dst-aws-service}")

// Rec is one crafted record; zero fields take defaults (TCP, ACCEPT, OK,
// port 443, 30 s long).
type Rec struct {
	Src, Dst       string
	DstPort        int
	Proto          int
	Bytes          int64
	At             int64 // seconds after Base
	Action, Status string
	Dir            string
	PktSrc, PktDst string
	Service        string
	ENI            string
	SrcPort        int // default 40000
}

// Flow returns the record as a synth.Flow.
func (r Rec) Flow() synth.Flow {
	f := synth.Flow{Version: 5, Account: synth.Account, ENI: r.ENI, Src: r.Src, Dst: r.Dst, SrcPort: r.SrcPort, DstPort: r.DstPort,
		Protocol: r.Proto, Packets: max(1, r.Bytes/1000), Bytes: r.Bytes, Start: Base + r.At, End: Base + r.At + 30,
		Action: r.Action, Status: r.Status, Direction: r.Dir, PktSrc: r.PktSrc, PktDst: r.PktDst, DstService: r.Service}
	if f.ENI == "" {
		f.ENI = "eni-0test"
	}
	if f.SrcPort == 0 {
		f.SrcPort = 40000
	}
	if f.DstPort == 0 {
		f.DstPort = 443
	}
	if f.Protocol == 0 {
		f.Protocol = 6
	}
	if f.Action == "" {
		f.Action = parse.ActionAccept
	}
	if f.Status == "" {
		f.Status = parse.StatusOK
	}
	if f.Status != parse.StatusOK {
		f = synth.Flow{Version: 5, ENI: f.ENI, Start: f.Start, End: f.End, Status: f.Status}
	}
	return f
}

// Text renders records as flow-log lines in format fm.
func Text(fm *parse.Format, recs []Rec) []byte {
	var out []byte
	for _, r := range recs {
		f := r.Flow()
		out = synth.AppendLine(out, fm, &f)
		out = append(out, '\n')
	}
	return out
}

// Batch is one delivery to Process; Want are the alerts it must return.
type Batch struct {
	ID   string
	Recs []Rec
	// Advance moves the clock forward before the batch.
	Advance time.Duration
	// NoAck leaves the batch's alerts unacknowledged, as a crash between
	// Process and delivery would.
	NoAck bool
	Want  []Got
}

// Got is the part of an alert the cases compare.
type Got struct {
	Detector string
	Src, Dst string
	Window   int64 // window start, seconds after Base
	Bytes    int64
	Count    int64
	Ports    []int
}

func project(as []detect.Alert) []Got {
	var out []Got
	for _, a := range as {
		out = append(out, Got{Detector: a.Detector, Src: a.Src, Dst: a.Dst, Window: a.WindowStart.Unix() - Base,
			Bytes: a.Bytes, Count: a.Count, Ports: a.Ports})
	}
	return out
}

// Case is one behaviour: a config change and a sequence of batches.
type Case struct {
	Name    string
	Config  func(*detect.Config)
	Format  *parse.Format // nil: Format
	Batches []Batch
	Check   func(t *testing.T, s detect.Summary)
}

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

func split(n int, each int64, r Rec) []Rec {
	out := make([]Rec, n)
	for i := range out {
		out[i] = r
		out[i].Bytes = each
		out[i].At = r.At + int64(i)*60
	}
	return out
}

const (
	Exfiltration = detect.Exfiltration
	Reject       = detect.Reject
	PortScan     = detect.PortScan
)

// H is the start of the exfiltration window that holds the records of the
// first window (seconds 0 to 3600 after Base) in its second half: windows
// of 2h start every hour.
const H = -3600

const (
	ecs  = "10.0.11.50"
	ecs2 = "10.0.11.51"
	ecsB = "10.0.12.51"
	db   = "10.0.21.100"
	ext  = "203.0.113.77"
	nat  = "10.0.1.10"
)

func exfil(b int64, at int64) Rec { return Rec{Src: ecs, Dst: ext, Bytes: b, At: at, Dir: "egress"} }

func reject(src, dst string, port int, at int64) Rec {
	return Rec{Src: src, Dst: dst, DstPort: port, Bytes: 60, At: at, Action: parse.ActionReject}
}

// Cases returns the behavioural cases.
func Cases() []Case {
	seven := split(7, 200_000, exfil(0, 100))
	var sevenBatches []Batch
	for i, r := range seven {
		b := Batch{ID: "seven-" + strconv.Itoa(i), Recs: []Rec{r}}
		if i == 5 { // 6 × 200,000 = 1,200,000 > 1,000,000
			b.Want = []Got{{Exfiltration, ecs, ext, H, 1_200_000, 6, []int{443}}}
		}
		sevenBatches = append(sevenBatches, b)
	}
	scan := func(n int, at int64) []Rec {
		var out []Rec
		for p := range n {
			out = append(out, Rec{Src: ecsB, Dst: db, DstPort: 20 + p, Bytes: 44, At: at + int64(p)})
		}
		return out
	}
	ports := func(lo, n int) []int {
		var out []int
		for p := range n {
			out = append(out, lo+p)
		}
		return out
	}
	return []Case{
		{Name: "exactly 1,000,000 bytes: no alert", Batches: []Batch{{ID: "a", Recs: []Rec{exfil(1_000_000, 10)}}}},
		{Name: "1,000,001 bytes: alert", Batches: []Batch{{ID: "a", Recs: []Rec{exfil(1_000_001, 10)},
			Want: []Got{{Exfiltration, ecs, ext, H, 1_000_001, 1, []int{443}}}}}},
		{Name: "7 records in one batch", Batches: []Batch{{ID: "a", Recs: seven,
			Want: []Got{{Exfiltration, ecs, ext, H, 1_400_000, 7, []int{443}}}}}},
		{Name: "7 records over 7 batches", Batches: sevenBatches},
		{Name: "1.2 MB across a window boundary: alert", Batches: []Batch{
			// 0.6 MB at 22:58, 0.6 MB at 23:01: within one hour, though in
			// two fixed hours.
			{ID: "a", Recs: []Rec{exfil(600_000, 3500)}},
			{ID: "b", Recs: []Rec{exfil(600_000, 3700)}, Want: []Got{{Exfiltration, ecs, ext, 0, 1_200_000, 2, []int{443}}}},
		}},
		{Name: "same bytes two windows apart: no alert", Batches: []Batch{
			{ID: "a", Recs: []Rec{exfil(600_000, 10)}},
			{ID: "b", Recs: []Rec{exfil(600_000, 2*3600+10)}},
		}},
		{Name: "a server answering its clients is not exfiltration", Batches: []Batch{
			{ID: "a", Recs: []Rec{{Src: ecs, Dst: ext, SrcPort: 443, DstPort: 51234, Bytes: 5_000_000, At: 5, Dir: "egress"}}},
		}},
		{Name: "a daily budget beside the hourly rule", Config: func(c *detect.Config) {
			c.ExfilBudgets = []detectconfig.ExfilRule{{Bytes: 3_000_000, Window: 24 * time.Hour}}
		}, Batches: []Batch{
			// 3.6 MB in an hour (22:00): both rules; the daily window is
			// 2 days from the day before.
			{ID: "a", Recs: split(4, 900_000, exfil(0, 10)), Want: []Got{
				{Exfiltration, ecs, ext, -(Base%86400 + 86400 - Base%3600), 3_600_000, 4, []int{443}},
				{Exfiltration, ecs, ext, H, 3_600_000, 4, []int{443}},
			}},
			// 3.6 MB at 03:00 the next day: the hourly rule, and the daily
			// rule's window of both days (3.6 MB on each day).
			{ID: "b", Recs: split(4, 900_000, exfil(0, 5*3600)), Want: []Got{
				{Exfiltration, ecs, ext, -(Base%86400 - Base%3600), 7_200_000, 8, []int{443}},
				{Exfiltration, ecs, ext, 4 * 3600, 3_600_000, 4, []int{443}},
			}},
		}},
		{Name: "replay neither double counts nor re-alerts", Batches: []Batch{
			{ID: "a", Recs: []Rec{exfil(600_000, 10)}},
			{ID: "a", Recs: []Rec{exfil(600_000, 10)}},
			{ID: "b", Recs: []Rec{exfil(400_000, 20)}},
			{ID: "c", Recs: []Rec{exfil(1, 30)}, Want: []Got{{Exfiltration, ecs, ext, H, 1_000_001, 3, []int{443}}}},
			{ID: "c", Recs: []Rec{exfil(1, 30)}},
			{ID: "a", Recs: []Rec{exfil(600_000, 10)}},
		}, Check: func(t *testing.T, s detect.Summary) {
			// 3 replayed batches × 3 keys (two exfiltration windows and a
			// port-scan counter).
			if s.Replayed != 9 {
				t.Errorf("summary replayed = %d, want 9", s.Replayed)
			}
		}},
		{Name: "once per key per window", Batches: []Batch{
			{ID: "a", Recs: []Rec{exfil(1_500_000, 10)}, Want: []Got{{Exfiltration, ecs, ext, H, 1_500_000, 1, []int{443}}}},
			{ID: "b", Recs: []Rec{exfil(1_500_000, 20)}},
			// The next hour's transfer: the window of both hours reports it.
			{ID: "c", Recs: []Rec{exfil(1_500_000, 3600+20)}, Want: []Got{{Exfiltration, ecs, ext, 0, 4_500_000, 3, []int{443}}}},
		}},
		{Name: "out of order over two windows", Batches: []Batch{
			{ID: "a", Recs: []Rec{exfil(700_000, 3600+50)}},
			{ID: "b", Recs: []Rec{exfil(700_000, 50)}, Want: []Got{{Exfiltration, ecs, ext, 0, 1_400_000, 2, []int{443}}}},
			{ID: "c", Recs: []Rec{exfil(700_000, 10)}, Want: []Got{{Exfiltration, ecs, ext, H, 1_400_000, 2, []int{443}}}},
			{ID: "d", Recs: []Rec{exfil(700_000, 3600+10), exfil(5, 20)}},
		}},
		{Name: "NAT: pkt-* addresses are judged", Batches: []Batch{
			// On the NAT gateway's ENI: srcaddr is the task, dstaddr the NAT
			// gateway, pkt-dstaddr the internet host.
			{ID: "a", Recs: []Rec{{Src: ecs, Dst: nat, PktSrc: ecs, PktDst: ext, Bytes: 1_100_000, At: 5}},
				Want: []Got{{Exfiltration, ecs, ext, H, 1_100_000, 1, []int{443}}}},
			// Secondary IP/pod: srcaddr is the primary IP, pkt-srcaddr the pod.
			{ID: "b", Recs: []Rec{{Src: "10.0.12.50", Dst: "198.51.100.9", PktSrc: "10.0.12.77", PktDst: "198.51.100.9", Bytes: 2_000_000, At: 5}},
				Want: []Got{{Exfiltration, "10.0.12.77", "198.51.100.9", H, 2_000_000, 1, []int{443}}}},
		}},
		{Name: "IPv6 in canonical form", Config: func(c *detect.Config) { c.Watch = pfx("10.0.0.0/16", "2600:1f14:abc::/56") },
			Batches: []Batch{
				{ID: "a", Recs: []Rec{{Src: "2600:1f14:abc:0:0:0:0:50", Dst: "2001:DB8::77", Bytes: 600_000, At: 5}}},
				{ID: "b", Recs: []Rec{{Src: "2600:1f14:abc::50", Dst: "2001:db8:0::77", Bytes: 600_000, At: 6}},
					Want: []Got{{Exfiltration, "2600:1f14:abc::50", "2001:db8::77", H, 1_200_000, 2, []int{443}}}},
				{ID: "c", Recs: []Rec{{Src: "2001:db8::66", Dst: "2600:1f14:abc::50", Bytes: 2_000_000, At: 7}}}, // inbound
			}},
		{Name: "destination allowlist", Config: func(c *detect.Config) { c.ExfilAllowDst = pfx("203.0.113.0/24") },
			Batches: []Batch{
				{ID: "a", Recs: []Rec{exfil(5_000_000, 5)}},
				{ID: "b", Recs: []Rec{{Src: ecs, Dst: "198.51.100.1", Bytes: 5_000_000, At: 5}},
					Want: []Got{{Exfiltration, ecs, "198.51.100.1", H, 5_000_000, 1, []int{443}}}},
			}},
		{Name: "source allowlist (a NAT gateway's own ENI)", Config: func(c *detect.Config) { c.ExfilAllowSrc = pfx(nat + "/32") },
			Batches: []Batch{
				{ID: "a", Recs: []Rec{
					{Src: ecs, Dst: ext, Bytes: 1_100_000, At: 5, Dir: "egress"}, // the task's ENI
					{Src: nat, Dst: ext, Bytes: 1_100_000, At: 5, Dir: "egress"}, // the NAT gateway's ENI, same bytes
				}, Want: []Got{{Exfiltration, ecs, ext, H, 1_100_000, 1, []int{443}}}},
			}},
		{Name: "AWS service traffic skipped", Batches: []Batch{
			{ID: "a", Recs: []Rec{{Src: ecs, Dst: "52.216.8.13", Service: "S3", Bytes: 5_000_000, At: 5}}},
		}},
		{Name: "AWS service traffic counted on request", Config: func(c *detect.Config) { c.ExfilAWSServices = true }, Batches: []Batch{
			{ID: "a", Recs: []Rec{{Src: ecs, Dst: "52.216.8.13", Service: "S3", Bytes: 5_000_000, At: 5}},
				Want: []Got{{Exfiltration, ecs, "52.216.8.13", H, 5_000_000, 1, []int{443}}}},
		}},
		{Name: "inbound and internal traffic is not exfiltration", Batches: []Batch{
			{ID: "a", Recs: []Rec{{Src: ext, Dst: ecs, Bytes: 5_000_000, At: 5}, {Src: ecs, Dst: db, Bytes: 5_000_000, At: 5, DstPort: 5432}}},
		}},
		{Name: "any pair (the seed's query)", Config: func(c *detect.Config) { c.ExfilAnyPair = true }, Batches: []Batch{
			{ID: "a", Recs: []Rec{
				{Src: ecs, Dst: db, Bytes: 1_500_000, At: 5, DstPort: 5432, Dir: "egress"},
				{Src: ecs, Dst: db, Bytes: 1_500_000, At: 5, DstPort: 5432, Dir: "ingress"}, // the same flow on the DB's ENI
				{Src: ext, Dst: ecs, Bytes: 1_000_001, At: 5, Dir: "ingress"},
			}, Want: []Got{
				{Exfiltration, ecs, db, H, 1_500_000, 1, []int{5432}},
				{Exfiltration, ext, ecs, H, 1_000_001, 1, []int{443}},
			}},
		}},
		{Name: "NODATA and SKIPDATA ignored", Batches: []Batch{
			{ID: "a", Recs: []Rec{{Status: parse.StatusNoData, At: 5}, {Status: parse.StatusSkipData, At: 6}, exfil(10, 7)}},
		}, Check: func(t *testing.T, s detect.Summary) {
			if s.Skipped != 2 || s.Unusable != 0 || s.Records != 3 {
				t.Errorf("summary = %+v, want 2 skipped of 3 records", s)
			}
		}},
		{Name: "default v2 format (no pkt, direction or service columns)", Format: parse.DefaultFormat(), Batches: []Batch{
			{ID: "a", Recs: []Rec{exfil(999_999, 5), exfil(2, 6), reject(ecs2, db, 22, 7), {Status: parse.StatusNoData, At: 8}},
				Want: []Got{{Exfiltration, ecs, ext, H, 1_000_001, 2, []int{443}}, {Reject, ecs2, "", 0, 60, 1, []int{22}}}},
		}},
		{Name: "reject: internal alerted, internet counted", Batches: []Batch{
			{ID: "a", Recs: []Rec{reject(ecs2, db, 22, 5), reject(ecs2, "10.0.22.100", 3306, 6), reject("198.18.0.1", "10.0.1.25", 23, 7)},
				Want: []Got{{Reject, ecs2, "", 0, 120, 2, []int{22, 3306}}}},
			{ID: "b", Recs: []Rec{reject(ecs2, db, 22, 8)}},
		}, Check: func(t *testing.T, s detect.Summary) {
			if s.InboundRejects != 1 || s.Rejects != 3 {
				t.Errorf("summary = %+v, want 1 inbound reject and 3 judged", s)
			}
		}},
		{Name: "reject: source scope (seed's srcaddr like 10.0.11)", Config: func(c *detect.Config) { c.RejectSrc = pfx("10.0.11.0/24") },
			Batches: []Batch{{ID: "a", Recs: []Rec{reject(ecsB, db, 22, 5), reject(ecs2, db, 22, 6)},
				Want: []Got{{Reject, ecs2, "", 0, 60, 1, []int{22}}}}},
			Check: func(t *testing.T, s detect.Summary) {
				if s.AllowedRejects != 1 || s.InboundRejects != 0 {
					t.Errorf("summary = %+v, want 1 allowed reject", s)
				}
			}},
		{Name: "reject: ports and allowlists", Config: func(c *detect.Config) {
			c.RejectPorts = []detect.PortRange{{Lo: 20, Hi: 23}, {Lo: 3306, Hi: 3306}}
			c.RejectAllowDst = pfx("10.0.22.0/24")
			c.RejectAllowSrc = pfx("10.0.12.0/24")
		}, Batches: []Batch{{ID: "a", Recs: []Rec{
			reject(ecs2, db, 443, 5),             // port not judged
			reject(ecs2, "10.0.22.100", 3306, 6), // allowed destination
			reject(ecsB, db, 22, 7),              // allowed source
			reject(ecs, db, 3306, 8),             // alert
		}, Want: []Got{{Reject, ecs, "", 0, 60, 1, []int{3306}}}}}},
		{Name: "reject threshold over batches", Config: func(c *detect.Config) { c.RejectThreshold = 3 }, Batches: []Batch{
			{ID: "a", Recs: []Rec{reject(ecs2, db, 22, 5), reject(ecs2, db, 22, 6)}},
			{ID: "a", Recs: []Rec{reject(ecs2, db, 22, 5), reject(ecs2, db, 22, 6)}},
			{ID: "b", Recs: []Rec{reject(ecs2, db, 23, 7)}, Want: []Got{{Reject, ecs2, "", 0, 180, 3, []int{23}}}},
		}},
		{Name: "port scan threshold", Batches: []Batch{
			{ID: "a", Recs: scan(9, 5)},
			{ID: "a", Recs: scan(9, 5)},
			{ID: "b", Recs: append(scan(9, 5)[:3:3], Rec{Src: ecsB, Dst: db, DstPort: 1000, Bytes: 44, At: 100}),
				Want: []Got{{PortScan, ecsB, db, 0, 44 * 13, 13, append(ports(20, 9), 1000)}}},
			{ID: "c", Recs: []Rec{{Src: ecsB, Dst: db, DstPort: 1001, Bytes: 44, At: 101}}},
		}},
		{Name: "port scan: ICMP and internet sources ignored", Batches: []Batch{{ID: "a", Recs: func() []Rec {
			var out []Rec
			for p := range 20 {
				out = append(out, Rec{Src: ecsB, Dst: db, DstPort: p, Proto: 1, Bytes: 44, At: 5},
					Rec{Src: "198.18.0.1", Dst: "10.0.1.25", DstPort: p, Bytes: 44, At: 5, Action: parse.ActionReject})
			}
			return out
		}()}}},
		{Name: "port scan: replies to ephemeral ports are not a scan", Batches: []Batch{{ID: "a", Recs: func() []Rec {
			var out []Rec
			for p := range 30 { // the database answering 30 connections of a task
				out = append(out, Rec{Src: db, Dst: ecs, DstPort: 40000 + p, Bytes: 900, At: 5})
			}
			return out
		}()}}},
		{Name: "detectors can be turned off", Config: func(c *detect.Config) { c.Detectors = []string{detect.Reject} }, Batches: []Batch{
			{ID: "a", Recs: append(scan(12, 5), exfil(2_000_000, 5))},
		}},
		{Name: "late records are ignored", Batches: []Batch{
			{ID: "a", Advance: 48 * time.Hour, Recs: []Rec{exfil(2_000_000, 5)}},
		}, Check: func(t *testing.T, s detect.Summary) {
			if s.Late != 1 {
				t.Errorf("late = %d, want 1", s.Late)
			}
		}},
		{Name: "crash before ack: the retry returns the alert again", Batches: []Batch{
			{ID: "a", NoAck: true, Recs: []Rec{exfil(2_000_000, 5)}, Want: []Got{{Exfiltration, ecs, ext, H, 2_000_000, 1, []int{443}}}},
			// Another batch while the claim is held: nothing.
			{ID: "b", Recs: []Rec{exfil(1, 6)}},
			// The retry of the same batch takes its claim back.
			{ID: "a", NoAck: true, Recs: []Rec{exfil(2_000_000, 5)}, Want: []Got{{Exfiltration, ecs, ext, H, 2_000_001, 2, []int{443}}}},
			// The claim lapses and a later batch hands the alert out, acked.
			{ID: "c", Advance: 3 * time.Minute, Recs: []Rec{exfil(1, 7)}, Want: []Got{{Exfiltration, ecs, ext, H, 2_000_002, 3, []int{443}}}},
			{ID: "a", Recs: []Rec{exfil(2_000_000, 5)}},
			{ID: "d", Recs: []Rec{exfil(1, 8)}},
		}},
	}
}

// Run runs every case against fresh states from newState.
func Run(t *testing.T, newState func(t *testing.T) detect.State) {
	for _, tc := range Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			RunCase(t, tc, newState(t))
		})
	}
}

// RunCase runs one case against st.
func RunCase(t *testing.T, tc Case, st detect.State) {
	t.Helper()
	cfg := detect.DefaultConfig()
	if tc.Config != nil {
		tc.Config(&cfg)
	}
	now := time.Unix(Base+2*3600, 0)
	eng, err := detect.New(cfg, st, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	fm := tc.Format
	if fm == nil {
		fm = Format
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	ids := map[string]string{}
	for i, b := range tc.Batches {
		now = now.Add(b.Advance)
		var alerts []detect.Alert
		forEach(t, mem, fm, b.Recs, func(j int, rec arrow.RecordBatch) {
			as, err := eng.Process(ctx, fmt.Sprintf("%s#%d", b.ID, j), rec)
			if err != nil {
				t.Fatalf("batch %d (%s): %v", i, b.ID, err)
			}
			alerts = append(alerts, as...)
		})
		if diff := cmp.Diff(project(alerts), b.Want); diff != "" {
			t.Errorf("batch %d (%s) alerts (-got +want):\n%s", i, b.ID, diff)
		}
		for _, a := range alerts {
			if prev, ok := ids[a.Key().String()]; ok && prev != a.ID {
				t.Errorf("alert %s: id %s, earlier %s", a.Key(), a.ID, prev)
			}
			ids[a.Key().String()] = a.ID
			if a.ID != detect.AlertID(a.Key()) || a.Title == "" || a.Severity == "" || len(a.Evidence) == 0 {
				t.Errorf("alert %+v: incomplete", a)
			}
		}
		if !b.NoAck {
			if err := eng.Ack(ctx, alerts); err != nil {
				t.Fatal(err)
			}
		}
	}
	if tc.Check != nil {
		tc.Check(t, eng.Summary())
	}
}

// forEach parses recs in format fm and calls fn with each record batch.
func forEach(t *testing.T, mem memory.Allocator, fm *parse.Format, recs []Rec, fn func(int, arrow.RecordBatch)) {
	t.Helper()
	rd := parse.NewBytesReader(Text(fm, recs), parse.Options{Format: fm, Allocator: mem,
		OnBadLine: func(e *parse.LineError) { t.Errorf("bad test line: %v", e) }})
	defer rd.Release()
	for j := 0; rd.Next(); j++ {
		fn(j, rd.RecordBatch())
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
}
