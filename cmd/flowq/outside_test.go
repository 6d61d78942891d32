package main

import (
	"database/sql"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/queries"
)

// Hand-written records in the shape of AWS's documented examples: the
// default format, and a custom v5 format with the NAT gateway's view of
// one connection (pkt-srcaddr is the instance behind the NAT).
const (
	awsV2Text = `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1795161610 1795161670 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1795161630 1795161690 REJECT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1795161700 1795161760 - NODATA
2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1795161700 1795161760 - SKIPDATA
2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1795165210 1795165270 ACCEPT OK
`
	awsV5Text = `version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status flow-direction traffic-path
5 vpc-0a1b2c3d subnet-0aa1 i-01234567890123456 eni-0f1e2d3c4b5a69788 123456789010 IPv4 10.0.1.5 203.0.113.5 43416 443 10.0.1.5 203.0.113.5 6 5060 12 1795165210 1795165270 ACCEPT 3 OK egress 8
5 vpc-0a1b2c3d subnet-0aa0 - eni-0aaaaaaaaaaaaaaaa 123456789010 IPv4 10.0.1.5 10.0.0.220 43416 443 10.0.1.5 203.0.113.5 6 5060 12 1795165220 1795165280 ACCEPT 3 OK ingress 0
5 vpc-0a1b2c3d subnet-0aa0 - eni-0aaaaaaaaaaaaaaaa 123456789010 IPv4 10.0.0.220 203.0.113.5 43416 443 10.0.1.5 203.0.113.5 6 5060 12 1795165220 1795165280 ACCEPT 3 OK egress 8
`
)

// totalsSQL is the question every reader answers.
const totalsSQL = `SELECT count(*) AS records, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(packets), 0) AS packets,
	count(*) FILTER (WHERE action = 'REJECT') AS rejects FROM flows`

// plainDuckDB opens DuckDB as a user would: no flowq session, no macros.
func plainDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// readmeQuery returns the plain-DuckDB read_parquet call the README's
// section "The lake" gives, with <lake> replaced by dir.
func readmeQuery(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`read_parquet\('<lake>/year=\*/month=\*/day=\*/hour=\*/\*\.parquet'[^)]*\)`).Find(data)
	if m == nil {
		t.Fatal("README.md gives no read_parquet('<lake>/year=*/month=*/day=*/hour=*/*.parquet', ...) query")
	}
	return strings.ReplaceAll(string(m), "<lake>", dir)
}

// athenaFiles lists what Athena reads through the Glue table: every file in
// a year=/month=/day=/hour= directory whose name does not start with _ or
// '.'. Athena fails on a file that is not Parquet; so does this emulation.
func athenaFiles(t *testing.T, dir string) []string {
	t.Helper()
	part := regexp.MustCompile(`^year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}$`)
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "_") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		if part.MatchString(filepath.ToSlash(rel)) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// readerSums answers totalsSQL over the relation src in db.
func readerSums(t *testing.T, db *sql.DB, src string) sums {
	t.Helper()
	var s sums
	q := strings.Replace(totalsSQL, "FROM flows", "FROM "+src, 1)
	if err := db.QueryRow(q).Scan(&s.Records, &s.Bytes, &s.Packets, &s.Rejects); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return s
}

// TestOutsideView: flowq query, plain DuckDB with the README's one-liner,
// and the files Athena reads give the same numbers as a count over the raw
// text, before and after compaction; so do top-talkers from flowq run and
// the same SQL in plain DuckDB.
func TestOutsideView(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	synthText := synth.Text(5, parse.DefaultFormat(), day, 3000, true)
	inputs := map[string]string{"in/a.log": awsV2Text, "in/b.log": awsV5Text, "in/c.log": string(synthText)}
	var all []byte
	for p, text := range inputs {
		writeFile(t, dir, p, []byte(text))
		all = append(all, text...)
	}
	want := textSums(all)
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "in")); code != 0 {
		t.Fatalf("ingest: exit %d: %s%s", code, out, errb)
	}
	// A second ingest makes more, smaller files for compaction to merge.
	writeFile(t, dir, "in2/d.log", []byte(awsV2Text[:strings.IndexByte(awsV2Text, '\n')+1]+"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20642 22 6 1 40 1795161611 1795161670 ACCEPT OK\n"))
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "in2")); code != 0 {
		t.Fatalf("ingest: exit %d: %s%s", code, out, errb)
	}
	want.Records++
	want.Bytes += 40
	want.Packets++
	q, _ := queries.Get("top-talkers")
	talkers, err := q.Render(map[string]string{"limit": "20"})
	if err != nil {
		t.Fatal(err)
	}
	db := plainDuckDB(t)
	check := func(stage string) {
		t.Helper()
		if diff := cmp.Diff(lakeSums(t, lake), want); diff != "" {
			t.Errorf("%s: flowq query vs the text (-got +want):\n%s", stage, diff)
		}
		if diff := cmp.Diff(readerSums(t, db, readmeQuery(t, lake)), want); diff != "" {
			t.Errorf("%s: plain DuckDB with the README's query vs the text (-got +want):\n%s", stage, diff)
		}
		files := athenaFiles(t, lake)
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = "'" + f + "'"
		}
		athena := "read_parquet([" + strings.Join(quoted, ", ") + "], hive_partitioning = true, union_by_name = true)"
		if diff := cmp.Diff(readerSums(t, db, athena), want); diff != "" {
			t.Errorf("%s: Athena's files vs the text (-got +want):\n%s", stage, diff)
		}
		code, flowqCSV, errb := runCLI(t, "", nil, "--lake", lake, "run", "top-talkers", "--param", "limit=20", "-o", "csv")
		if code != 0 {
			t.Fatalf("%s: run top-talkers: %s", stage, errb)
		}
		rows, err := db.Query("WITH flows AS (SELECT * FROM " + readmeQuery(t, lake) + ") " + talkers)
		if err != nil {
			t.Fatalf("%s: top-talkers in plain DuckDB: %v", stage, err)
		}
		defer rows.Close()
		var b strings.Builder
		b.WriteString("srcaddr,dstaddr,bytes,packets,flows\n")
		for rows.Next() {
			var src, dst string
			var by, pk, fl int64
			if err := rows.Scan(&src, &dst, &by, &pk, &fl); err != nil {
				t.Fatal(err)
			}
			b.WriteString(strings.Join([]string{src, dst, itoa(by), itoa(pk), itoa(fl)}, ",") + "\n")
		}
		if diff := cmp.Diff(flowqCSV, b.String()); diff != "" {
			t.Errorf("%s: top-talkers, flowq run vs plain DuckDB (-flowq +plain):\n%s", stage, diff)
		}
	}
	check("ingested")
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "compact"); code != 0 {
		t.Fatalf("compact: exit %d: %s%s", code, out, errb)
	}
	merged := 0
	for _, f := range athenaFiles(t, lake) {
		if strings.HasPrefix(filepath.Base(f), "c-") {
			merged++
		}
	}
	if merged == 0 {
		t.Fatalf("compaction merged nothing: %v", athenaFiles(t, lake))
	}
	check("compacted")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
