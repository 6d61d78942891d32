package detect

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// aggFormat has every column the detectors read.
var aggFormat = parse.MustParseFormat("${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} " +
	"${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags} ${flow-direction} ${pkt-srcaddr} ${pkt-dstaddr} " +
	"${pkt-dst-aws-service}")

// adversarialText returns n records in aggFormat drawn to hit every branch
// of the rules: watched, internet, IPv6 and odd spellings of addresses
// (the same address written two ways), NODATA and SKIPDATA, replies, late
// records, records past their window's end, non-port protocols, huge byte
// counts, and any field missing ("-").
func adversarialText(seed uint64, day int64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	addrs := []string{"10.0.1.5", "10.0.1.6", "10.0.2.7", "10.0.9.200", "10.1.0.1", "172.16.0.4", "203.0.113.7", "198.51.100.1",
		"8.8.8.8", "52.94.0.1", "::ffff:10.0.1.5", "010.0.1.5", "2001:db8::1", "2001:0db8::1", "fe80::1%eth0", "fd00::5",
		"0.0.0.0", "255.255.255.255", "not-an-address"}
	for i := range 20 { // a few hundred distinct peers, to fill the caches
		addrs = append(addrs, fmt.Sprintf("%d.%d.%d.%d", 100+i, rng.IntN(250), rng.IntN(250), 1+rng.IntN(250)))
	}
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	var b strings.Builder
	for range n {
		src, dst := addrs[rng.IntN(len(addrs))], addrs[rng.IntN(len(addrs))]
		if rng.IntN(3) == 0 { // a peer of its own
			dst = fmt.Sprintf("%d.%d.%d.%d", 100+rng.IntN(100), rng.IntN(250), rng.IntN(250), 1+rng.IntN(250))
		}
		start := day + rng.Int64N(6*3600) - 3600
		if rng.IntN(20) == 0 {
			start -= 3 * 86400 // late
		}
		end := start + rng.Int64N(120)
		if rng.IntN(10) == 0 {
			end = start + 7200 // past its window's end
		}
		bytes := rng.Int64N(5000)
		if rng.IntN(10) == 0 {
			bytes = rng.Int64N(5_000_000)
		}
		f := []string{"5", pick("eni-a", "eni-b", "eni-nat"), src, dst,
			pick("40000", "443", "22", "5432", "1024", "65535", "0"), pick("443", "22", "3389", "445", "5432", "8080", "40000", "0", "1024", "53"),
			pick("6", "6", "17", "1", "132", "50"), strconv.Itoa(1 + rng.IntN(20)), strconv.FormatInt(bytes, 10),
			strconv.FormatInt(start, 10), strconv.FormatInt(end, 10), pick("ACCEPT", "ACCEPT", "REJECT"),
			pick("OK", "OK", "OK", "OK", "OK", "OK", "NODATA", "SKIPDATA"), pick("0", "2", "18", "19", "3"),
			pick("ingress", "egress", "ingress", "egress", "ingres", "ingressx", "INGRESS"), pick(src, src, src, addrs[rng.IntN(len(addrs))]), pick(dst, dst, dst, addrs[rng.IntN(len(addrs))]),
			pick("-", "-", "-", "S3", "DYNAMODB")}
		for j := range f {
			if rng.IntN(25) == 0 {
				f[j] = "-"
			}
		}
		b.WriteString(strings.Join(f, " "))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// adversarialBatch parses n records of adversarialText (seed, on
// 2026-11-20) into one batch, released when the test ends.
func adversarialBatch(t *testing.T, seed uint64, n int) arrow.RecordBatch {
	t.Helper()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rd := parse.NewBytesReader(adversarialText(seed, day.Unix(), n), parse.Options{Format: aggFormat})
	t.Cleanup(rd.Release)
	if !rd.Next() {
		t.Fatalf("no batch: %v", rd.Err())
	}
	return rd.RecordBatch()
}

// aggConfigs are the configurations the fast paths are checked under.
func aggConfigs() map[string]Config {
	out := map[string]Config{"default": DefaultConfig()}
	c := DefaultConfig()
	c.ExfilAnyPair, c.ExfilAWSServices = true, true
	c.ExfilBudgets = []detectconfig.ExfilRule{{Bytes: 10_000, Window: 10 * time.Minute}, {Bytes: 50_000_000, Window: 24 * time.Hour}}
	out["any pair, budgets"] = c
	c.RejectDst = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} // internet sources: no membership at all
	c.Detectors = []string{Exfiltration}
	out["any pair, no other scope"] = c
	c = DefaultConfig()
	c.Watch = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8::/32")}
	c.ExfilAllowDst = []netip.Prefix{netip.MustParsePrefix("52.94.0.0/16")}
	c.ExfilAllowSrc = []netip.Prefix{netip.MustParsePrefix("10.0.9.0/24")}
	c.RejectSrc = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	c.RejectDst = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	c.RejectPorts = []PortRange{{Lo: 1, Hi: 1023}}
	c.RejectAllowPorts = []PortRange{{Lo: 443, Hi: 443}}
	c.RejectAllowSrc = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	c.ScanSrc = []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("198.51.100.0/24")}
	c.Evidence = 1
	c.Window = 10 * time.Minute
	out["scoped, ports, one evidence"] = c
	c = DefaultConfig()
	c.Retention = 0
	c.Evidence = 0
	c.Detectors = []string{PortScan, Reject}
	out["no retention, no evidence, no exfiltration"] = c
	c = DefaultConfig()
	c.Detectors = []string{Exfiltration}
	out["exfiltration only"] = c
	for i, big := range []int{30, 1000} { // more records than a slice holds, per key
		c = DefaultConfig()
		c.Evidence = big % 51
		c.Watch = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
		out["everything watched "+strconv.Itoa(i)] = c
	}
	return out
}

// TestAggregateMatchesReference: the Engine's accumulators and counters
// equal the reference computation's (refAggregate), record by record,
// over the demo day, the high-cardinality peers, and adversarial records
// in every format subset, under several configurations.
func TestAggregateMatchesReference(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	demoFm := parse.MustParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} " +
		"${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${tcp-flags} ${type} " +
		"${pkt-srcaddr} ${pkt-dstaddr} ${pkt-dst-aws-service} ${flow-direction}")
	inputs := []struct {
		name string
		fm   *parse.Format
		text []byte
	}{
		{"demo day", demoFm, synth.Text(1, demoFm, day, 40_000, false)},
		{"adversarial", aggFormat, adversarialText(1, day.Unix(), 40_000)},
	}
	fields := aggFormat.Fields()
	for k := range 6 { // format subsets: the columns but srcaddr, dstaddr and start may be missing
		rng := rand.New(rand.NewPCG(uint64(k), 7))
		var names []string
		for _, f := range fields {
			if f.Name == "srcaddr" || f.Name == "dstaddr" || f.Name == "start" || rng.IntN(3) > 0 {
				names = append(names, "${"+f.Name+"}")
			}
		}
		fm := parse.MustParseFormat(strings.Join(names, " "))
		inputs = append(inputs, struct {
			name string
			fm   *parse.Format
			text []byte
		}{"subset " + strconv.Itoa(k), fm, reformat(t, aggFormat, fm, adversarialText(uint64(k+2), day.Unix(), 5_000))})
	}
	now := day.Add(6 * time.Hour) // the adversarial records of 3 days before are late, the others not
	for cname, cfg := range aggConfigs() {
		for _, in := range inputs {
			t.Run(cname+"/"+in.name, func(t *testing.T) {
				eng, err := New(cfg, NewMemoryState(), func() time.Time { return now })
				if err != nil {
					t.Fatal(err)
				}
				rd := parse.NewBytesReader(in.text, parse.Options{Format: in.fm, BatchSize: 4096})
				defer rd.Release()
				batches := 0
				for rd.Next() {
					checkAggregate(t, eng, rd.RecordBatch(), now.Unix(), batches)
					batches++
				}
				if batches == 0 {
					t.Fatal("no batch parsed")
				}
			})
		}
	}
}

// checkAggregate runs the Engine's aggregate over rec and fails unless its
// accumulators and counters are the reference's.
func checkAggregate(t *testing.T, eng *Engine, rec arrow.RecordBatch, now int64, batch int) {
	t.Helper()
	eng.scratch.reset()
	cols, err := bindColumns(rec, &eng.scratch)
	if err != nil {
		return // not the aggregate's to judge
	}
	n := int(rec.NumRows())
	before := eng.sum
	eng.aggregate(&cols, n, now, nil)
	got := viewAggs(eng.aggs)
	ref := refAggregate(eng, &cols, n, now)
	want := viewAggs(ref.aggs)
	if len(got) != len(want) || len(eng.aggs) != len(got) {
		t.Fatalf("batch %d: %d accumulators (%d distinct), want %d", batch, len(eng.aggs), len(got), len(want))
	}
	for k, w := range want {
		if g := got[k]; !reflect.DeepEqual(g, w) {
			t.Fatalf("batch %d: key %+v:\n got %+v\nwant %+v", batch, k, g, w)
		}
	}
	d := Summary{Skipped: eng.sum.Skipped - before.Skipped, Unusable: eng.sum.Unusable - before.Unusable,
		Late: eng.sum.Late - before.Late, InboundRejects: eng.sum.InboundRejects - before.InboundRejects,
		AllowedRejects: eng.sum.AllowedRejects - before.AllowedRejects, Rejects: eng.sum.Rejects - before.Rejects}
	if !reflect.DeepEqual(d, ref.sum) {
		t.Fatalf("batch %d: counters %+v, want %+v", batch, d, ref.sum)
	}
}

// FuzzAggregate: over any text the parser accepts, under each of
// aggConfigs, the Engine's accumulators and counters are the reference's.
func FuzzAggregate(f *testing.F) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for k := range 4 {
		f.Add(adversarialText(uint64(k), day.Unix(), 40), uint8(k))
	}
	now := day.Add(6 * time.Hour)
	var engines []*Engine // one per configuration, reused: aggregate keeps nothing of a batch but its address cache
	cfgs := aggConfigs()
	for _, name := range slices.Sorted(maps.Keys(cfgs)) {
		eng, err := New(cfgs[name], NewMemoryState(), func() time.Time { return now })
		if err != nil {
			f.Fatal(err)
		}
		engines = append(engines, eng)
	}
	f.Fuzz(func(t *testing.T, text []byte, which uint8) {
		eng := engines[int(which)%len(engines)]
		rd := parse.NewBytesReader(text, parse.Options{Format: aggFormat, BatchSize: 64})
		defer rd.Release()
		for b := 0; rd.Next(); b++ {
			checkAggregate(t, eng, rd.RecordBatch(), now.Unix(), b)
		}
	})
}

// reformat rewrites text from format from into format to (a subset).
func reformat(t *testing.T, from, to *parse.Format, text []byte) []byte {
	t.Helper()
	pos := map[string]int{}
	for i, f := range from.Fields() {
		pos[f.Name] = i
	}
	var out []byte
	for line := range strings.Lines(string(text)) {
		vals := strings.Fields(line)
		var keep []string
		for _, f := range to.Fields() {
			keep = append(keep, vals[pos[f.Name]])
		}
		out = append(out, strings.Join(keep, " ")+"\n"...)
	}
	return out
}

// TestPairCacheWraps: after 2^32 batches the pair cache's generation
// wraps, and entries of the batch that had the new generation number
// before do not come back as current.
func TestPairCacheWraps(t *testing.T) {
	var p pairCache
	p.next()
	p.entries[7] = pairEntry{pair: 1, win: 2, gen: p.gen, idx: 3}
	p.gen = ^uint32(0)
	p.next()
	if p.gen == 0 || p.entries[7].gen == p.gen {
		t.Fatalf("after the wrap: gen %d, entry %+v looks current", p.gen, p.entries[7])
	}
}
