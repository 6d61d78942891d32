package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/queries"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// writeFile writes data to dir/rel, creating directories.
func writeFile(t *testing.T, dir, rel string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipped(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// textSums computes totals over flow-log text without the parser: the
// fields are located through the header line.
type sums struct {
	Records, Bytes, Packets, Rejects int64
}

func textSums(text []byte) sums {
	var s sums
	var idx map[string]int
	for _, line := range strings.Split(string(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "version" {
			idx = map[string]int{}
			for i, n := range f {
				idx[n] = i
			}
			continue
		}
		s.Records++
		b, _ := strconv.ParseInt(f[idx["bytes"]], 10, 64)
		p, _ := strconv.ParseInt(f[idx["packets"]], 10, 64)
		s.Bytes += b
		s.Packets += p
		if f[idx["action"]] == "REJECT" {
			s.Rejects++
		}
	}
	return s
}

// lakeSums asks flowq for the same totals.
func lakeSums(t *testing.T, lake string, extra ...string) sums {
	t.Helper()
	args := append([]string{"--lake", lake, "query", "-o", "json"}, extra...)
	args = append(args, `SELECT count(*) AS records, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(packets), 0) AS packets,
		count(*) FILTER (WHERE action = 'REJECT') AS rejects FROM flows`)
	code, out, errb := runCLI(t, "", nil, args...)
	if code != 0 {
		t.Fatalf("query: exit %d: %s", code, errb)
	}
	var s sums
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("query output %q: %v", out, err)
	}
	return s
}

func TestIngestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	fm := parse.DefaultFormat()
	v5 := synth.DetectFormat
	// Two days in AWS's S3 layouts: plain (gzip) and Hive-style (plain text,
	// a richer format), plus a file without a header given --format.
	d1 := synth.Text(1, fm, day, 3000, true)
	d2 := synth.Text(2, v5, day.AddDate(0, 0, 1), 2000, true)
	writeFile(t, dir, "in/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/123456789012_vpcflowlogs_us-east-1_fl-1_20261120T0000Z_aa.log.gz", gzipped(d1))
	writeFile(t, dir, "in/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=21/b.log", d2)
	writeFile(t, dir, "in/README.md", []byte("not a flow log"))
	want := textSums(append(append([]byte{}, d1...), d2...))

	code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "in"))
	if code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errb)
	}
	if !strings.Contains(out, "ingested 2 of 2 inputs") || !strings.Contains(out, "5,000 records") {
		t.Errorf("summary: %s", out)
	}
	if diff := cmp.Diff(lakeSums(t, lake), want); diff != "" {
		t.Errorf("lake vs text (-got +want):\n%s", diff)
	}
	// Idempotent: the same files again replace their records; the lake
	// itself is never ingested when it lies under the input.
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "in")); code != 0 {
		t.Fatalf("re-ingest: %s", errb)
	}
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", dir); code != 0 || !strings.Contains(out, "2 already stored") {
		t.Fatalf("ingest of the lake's parent: exit %d: %s%s", code, out, errb)
	}
	if diff := cmp.Diff(lakeSums(t, lake), want); diff != "" {
		t.Errorf("after re-ingest (-got +want):\n%s", diff)
	}
	// Both field sets query together (union by name): the v5 file has
	// flow_direction, the default-format file has none (NULL).
	code, out, _ = runCLI(t, "", nil, "--lake", lake, "query", "-o", "csv",
		"SELECT count(flow_direction) FILTER (WHERE vpc_id IS NULL) AS d1, count(flow_direction) AS d2 FROM flows")
	if want := fmt.Sprintf("d1,d2\n0,%d\n", countField(d2, "flow-direction")); code != 0 || out != want {
		t.Errorf("union by name: exit %d:\n%s, want\n%s", code, out, want)
	}
	// --since/--until select rows and prune partitions.
	if got, want := lakeSums(t, lake, "--since", "2026-11-21T00:00:00Z").Records, countStarts(d1, day.AddDate(0, 0, 1), day.AddDate(0, 0, 3))+countStarts(d2, day.AddDate(0, 0, 1), day.AddDate(0, 0, 3)); got != want {
		t.Errorf("--since day 2: %d records, want %d", got, want)
	}
	if got := lakeSums(t, lake, "--since", "2026-11-20T06:00:00Z", "--until", "2026-11-20T07:00:00Z").Records; got != countStarts(d1, day.Add(6*time.Hour), day.Add(7*time.Hour)) {
		t.Errorf("one hour: %d records, want %d", got, countStarts(d1, day.Add(6*time.Hour), day.Add(7*time.Hour)))
	}
	a := &app{lake: lake, getenv: func(string) string { return "" }}
	tr, _ := parseTimeRange("2026-11-20T06:00:00Z", "2026-11-20T07:00:00Z", time.Now())
	d, err := openLakeDB(context.Background(), a, tr)
	if err != nil {
		t.Fatal(err)
	}
	if d.Files != 1 {
		t.Errorf("one hour opened %d files, want 1 (partition pruning)", d.Files)
	}
	d.Close()
	// A range without data is empty, not an error.
	code, out, errb = runCLI(t, "", nil, "--lake", lake, "query", "--since", "2020-01-01", "--until", "2020-01-02", "-o", "csv", "SELECT count(*) AS n FROM flows")
	if code != 0 || out != "n\n0\n" || !strings.Contains(errb, "no data in") {
		t.Errorf("empty range: exit %d, out %q, err %q", code, out, errb)
	}
}

// countField counts the records of text whose field is not "-".
func countField(text []byte, field string) int64 {
	var n int64
	col := -1
	for _, line := range strings.Split(string(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "version" {
			for i, name := range f {
				if name == field {
					col = i
				}
			}
			continue
		}
		if f[col] != "-" {
			n++
		}
	}
	return n
}

func countStarts(text []byte, from, to time.Time) int64 {
	var n int64
	for _, line := range strings.Split(string(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 11 || f[0] == "version" {
			continue
		}
		s, _ := strconv.ParseInt(f[10], 10, 64)
		if s >= from.Unix() && s < to.Unix() {
			n++
		}
	}
	return n
}

func TestIngestBadLines(t *testing.T) {
	dir := t.TempDir()
	text := synth.Text(3, parse.DefaultFormat(), day, 10, false)
	lines := strings.Split(string(text), "\n")
	lines[3] = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 99999 80 6 1 40 1795132800 1795132860 ACCEPT OK"
	p := writeFile(t, dir, "bad.log", []byte(strings.Join(lines, "\n")))
	code, out, errb := runCLI(t, "", nil, "--lake", filepath.Join(dir, "lake"), "ingest", p)
	if code != exitRejected {
		t.Errorf("exit %d, want %d", code, exitRejected)
	}
	if !strings.Contains(errb, p+":4: field srcport: value out of range") {
		t.Errorf("stderr: %s", errb)
	}
	if !strings.Contains(out, "9 records") || !strings.Contains(out, "1 bad lines") {
		t.Errorf("summary: %s", out)
	}
	if got := lakeSums(t, filepath.Join(dir, "lake")).Records; got != 9 {
		t.Errorf("lake has %d records, want 9", got)
	}
}

// awsParquet writes a flow-log Parquet file the way AWS's FileFormat=parquet
// delivery does: column = field name with "-" → "_", int32/int64/utf8, all
// nullable, gzip, no Arrow schema stored.
func awsParquet(t *testing.T, text []byte, fm *parse.Format) []byte {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := parse.NewBytesReader(text, parse.Options{Format: fm, Allocator: mem})
	defer r.Release()
	var buf bytes.Buffer
	var w *pqarrow.FileWriter
	for r.Next() {
		rec := r.RecordBatch()
		if w == nil {
			var err error
			w, err = pqarrow.NewFileWriter(rec.Schema(), &buf,
				parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Gzip), parquet.WithAllocator(mem)),
				pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAWSNativeParquet(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	ours := synth.Text(4, parse.DefaultFormat(), day, 1500, true)
	theirs := synth.Text(5, synth.DetectFormat, day.Add(2*time.Hour), 1000, true)
	pq := awsParquet(t, theirs, synth.DetectFormat)
	// The fixture has AWS's exact column names and types.
	pf, err := file.NewParquetReader(bytes.NewReader(pq))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := sc.Schema()
	var got []string
	for _, f := range schema.Fields() {
		got = append(got, f.Name+":"+f.Type.String())
	}
	want := "version:int32 account_id:utf8 interface_id:utf8 srcaddr:utf8 dstaddr:utf8 srcport:int32 dstport:int32 protocol:int32 packets:int64 bytes:int64 start:int64 end:int64 action:utf8 log_status:utf8 vpc_id:utf8 subnet_id:utf8 tcp_flags:int32 type:utf8 pkt_srcaddr:utf8 pkt_dstaddr:utf8 pkt_dst_aws_service:utf8 flow_direction:utf8"
	if diff := cmp.Diff(strings.Join(got, " "), want); diff != "" {
		t.Fatalf("fixture schema (-got +want):\n%s", diff)
	}
	pqPath := writeFile(t, dir, "in/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=20/hour=02/123456789012_vpcflowlogs_us-east-1_fl-1_20261120T0200Z_bb.log.parquet", pq)
	txtPath := writeFile(t, dir, "in/ours.log", ours)
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", txtPath, pqPath); code != 0 {
		t.Fatalf("ingest: %s%s", out, errb)
	}
	want2 := textSums(append(append([]byte{}, ours...), theirs...))
	if diff := cmp.Diff(lakeSums(t, lake), want2); diff != "" {
		t.Errorf("lake with AWS Parquet and ours (-got +want):\n%s", diff)
	}
	// And DuckDB reads AWS's file and the lake's files in one query.
	q := fmt.Sprintf(`SELECT count(*) AS records, sum(bytes)::BIGINT AS bytes, sum(packets)::BIGINT AS packets, count(*) FILTER (WHERE action = 'REJECT') AS rejects
		FROM (SELECT bytes, packets, action FROM read_parquet('%s') UNION ALL SELECT bytes, packets, action FROM flows WHERE vpc_id IS NULL)`, pqPath)
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "query", "-o", "json", q)
	if code != 0 {
		t.Fatalf("query: %s", errb)
	}
	var s sums
	json.Unmarshal([]byte(out), &s)
	if diff := cmp.Diff(s, want2); diff != "" {
		t.Errorf("AWS file + lake in one query (-got +want):\n%s", diff)
	}
}

// goldenLake builds the small fixture lake of the named-query goldens: two
// hours of seed-VPC traffic with the synth incidents (ECS rejects from
// 10.0.11.51, database egress, a 1.4 MB exfiltration to 203.0.113.77, a port
// scan) and a few IPv6 and edge-case records.
func goldenLake(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	text, _ := synth.Scenario(11, synth.DetectFormat, day.Add(8*time.Hour), 2*time.Hour, 1500, day.Add(9*time.Hour))
	extra := "" +
		"5 123456789012 eni-0a1b2c3d4e5f60011 2001:db8:11::5 2001:db8:21::100 40000 5432 6 3 500 1795168800 1795168810 REJECT OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv6 2001:db8:11::5 2001:db8:21::100 - egress\n" +
		"5 123456789012 eni-0a1b2c3d4e5f60011 10.0.110.5 10.0.21.100 40001 5432 6 3 500 1795168800 1795168810 REJECT OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv4 10.0.110.5 10.0.21.100 - egress\n" +
		"5 123456789012 eni-0a1b2c3d4e5f600ff - - - - - - - 1795168800 1795168860 - NODATA vpc-0flowq0seed0001 subnet-0priv1 - - - - - -\n"
	p := writeFile(t, dir, "in/a.log", append(text, extra...))
	lake := filepath.Join(dir, "lake")
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 {
		t.Fatalf("ingest: %s%s", out, errb)
	}
	return lake
}

func TestNamedQueriesGolden(t *testing.T) {
	lake := goldenLake(t)
	params := map[string][]string{
		"flows-for-ip":         {"--param", "ip=" + synth.ExfilDst},
		"rejected-from-subnet": {},
		"exfil-candidates":     {},
		"port-scan":            {"--param", "min_ports=5"},
	}
	for _, q := range queries.List() {
		t.Run(q.Name, func(t *testing.T) {
			args := append([]string{"--lake", lake, "run", q.Name, "-o", "csv"}, params[q.Name]...)
			code, out, errb := runCLI(t, "", nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb)
			}
			golden := filepath.Join("testdata", "queries", q.Name+".csv")
			if *update {
				writeFile(t, ".", golden, []byte(out))
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if diff := cmp.Diff(strings.Split(out, "\n"), strings.Split(string(want), "\n")); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
	// IPv6 CIDRs work in the named query, and 10.0.110.5 is not in 10.0.11.0/24.
	code, out, _ := runCLI(t, "", nil, "--lake", lake, "run", "rejected-from-subnet", "--param", "cidr=2001:db8:11::/64", "-o", "csv")
	if code != 0 || !strings.Contains(out, "2001:db8:11::5,2001:db8:21::100,5432") || strings.Count(out, "\n") != 2 {
		t.Errorf("IPv6 subnet: %s", out)
	}
}

func TestQueryErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	lake := goldenLake(t)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"missing lake", []string{"--lake", filepath.Join(dir, "nope"), "run", "top-talkers"}, exitRejected, []string{"no lake at", "flowq ingest"}},
		{"empty lake", []string{"--lake", empty, "query", "SELECT 1"}, exitRejected, []string{"the lake is empty", "flowq ingest"}},
		{"unknown query", []string{"--lake", lake, "run", "top-talker"}, exitUsage, []string{`unknown query "top-talker": did you mean "top-talkers"?`, "named queries: exfil-candidates"}},
		{"bad param", []string{"--lake", lake, "run", "rejected-from-subnet", "--param", "cidr=10.0.11.0/33"}, exitUsage, []string{"want a CIDR"}},
		{"bad SQL", []string{"--lake", lake, "query", "SELEC count(*) FROM flows"}, exitRejected, []string{"syntax error", "in query:\n  SELEC count(*) FROM flows"}},
		{"unknown column", []string{"--lake", lake, "query", "SELECT nope FROM flows"}, exitRejected, []string{"nope", "in query:"}},
		{"bad since", []string{"--lake", lake, "run", "top-talkers", "--since", "yesterday"}, exitUsage, []string{"--since: cannot read \"yesterday\""}},
		{"empty range", []string{"--lake", lake, "run", "top-talkers", "--since", "1h", "--until", "2h"}, exitUsage, []string{"empty time range"}},
		{"bad output", []string{"--lake", lake, "run", "top-talkers", "-o", "xml"}, exitUsage, []string{"--output \"xml\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errb := runCLI(t, "", nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (%s)", code, tt.code, errb)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb, w) {
					t.Errorf("stderr %q lacks %q", errb, w)
				}
			}
		})
	}
}

func TestListAndSQL(t *testing.T) {
	code, out, _ := runCLI(t, "", nil, "list")
	if code != 0 || !strings.Contains(out, "rejected-from-subnet") || !strings.Contains(out, "cidr=10.0.11.0/24 limit=100") || !strings.Contains(out, "ip=<ip>") {
		t.Errorf("list: %s", out)
	}
	code, out, _ = runCLI(t, "", nil, "list", "-o", "json")
	if code != 0 || strings.Count(out, "\n") != len(queries.List()) {
		t.Errorf("list -o json: %s", out)
	}
	code, out, _ = runCLI(t, "", nil, "run", "exfil-candidates", "--param", "threshold=5000", "--sql")
	if code != 0 || !strings.Contains(out, "HAVING sum(bytes) > 5000") {
		t.Errorf("--sql: %s", out)
	}
}

func TestCompactCommand(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	var all []byte
	var paths []string
	for i := range 4 {
		text := synth.Text(uint64(20+i), parse.DefaultFormat(), day, 500, true)
		all = append(all, text...)
		paths = append(paths, writeFile(t, dir, fmt.Sprintf("in/%d.log", i), text))
	}
	if code, _, errb := runCLI(t, "", nil, append([]string{"--lake", lake, "ingest"}, paths...)...); code != 0 {
		t.Fatal(errb)
	}
	want := textSums(all)
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "compact")
	if code != 0 || !strings.Contains(out, "compacted 25 partitions: 100 files") {
		t.Errorf("compact: exit %d: %s%s", code, out, errb)
	}
	if diff := cmp.Diff(lakeSums(t, lake), want); diff != "" {
		t.Errorf("after compact (-got +want):\n%s", diff)
	}
	// Re-ingesting a compacted file does not double count.
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "ingest", paths[0]); code != 0 {
		t.Fatal(errb)
	}
	if diff := cmp.Diff(lakeSums(t, lake), want); diff != "" {
		t.Errorf("after re-ingest of a compacted file (-got +want):\n%s", diff)
	}
}
