package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/store"
)

// awsRecords are AWS's documented default-format examples.
const awsRecords = `2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA
`

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// lakeStarts returns the start of every record in the lake.
func lakeStarts(t *testing.T, dir string) []int64 {
	t.Helper()
	l, err := store.Open(t.Context(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	err = l.Scan(t.Context(), nil, func(rec arrow.RecordBatch) error {
		out = append(out, rec.Column(rec.Schema().FieldIndices("start")[0]).(*array.Int64).Int64Values()...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func otherParquet(t *testing.T) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.BinaryTypes.String}}, nil))
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.StringBuilder).Append("x")
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(rec)
	w.Close()
	return buf.Bytes()
}

// TestIngestAdversarial: one directory holding good files and every kind of
// bad input. Each bad input gets one error naming it, exit status 1, and
// nothing of it in the lake; every good record is stored once, however
// many paths hold it; a second run stores nothing.
func TestIngestAdversarial(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	lake := filepath.Join(dir, "lake")
	big := gzipBytes(bytes.Repeat([]byte(awsRecords), 500))
	files := map[string][]byte{
		"good/a.log":          []byte(awsRecords),
		"good/copy/a.log":     []byte(awsRecords), // the same content at another path
		"good/b.log.gz":       gzipBytes([]byte(strings.ReplaceAll(awsRecords, "1418530010", "1418530011"))),
		"bad/cut.log.gz":      big[:len(big)-6],
		"bad/binary.log":      append([]byte("2 1 eni-1 "), 0, 0, 0xff, 0xfe),
		"bad/nostart.log":     []byte("version srcaddr dstaddr bytes action\n2 10.0.0.1 10.0.0.2 5 ACCEPT\n"),
		"bad/other.parquet":   otherParquet(t),
		"mixed/millis.log":    []byte("2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530012000 1418530070000 ACCEPT OK\n"),
		"mixed/v5-header.log": []byte("version srcaddr dstaddr bytes start end action\n2 10.0.0.1 10.0.0.2 5 1418530013 1418530070 ACCEPT\n"),
		"mixed/huge-line.log": []byte(awsRecords + strings.Repeat("x", 100<<10) + "\n" + strings.Replace(awsRecords[:118], "20641", "20642", 1) + "\n"),
	}
	for name, data := range files {
		p := filepath.Join(in, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", in)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errb)
	}
	for _, bad := range []string{"cut.log.gz", "binary.log", "nostart.log", "other.parquet"} {
		if n := strings.Count(errb, bad+":"); n != 1 {
			t.Errorf("%s named %d times on stderr, want once:\n%s", bad, n, errb)
		}
	}
	for _, want := range []string{"gzip stream cut short", "binary data", "no ${start}", "not a flow-log Parquet file", "huge-line.log:5: line too long"} {
		if !strings.Contains(errb, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errb)
		}
	}
	// Independent count: a.log and b.log.gz (4 each), millis (1), the v5
	// header file (1), huge-line.log (4 + 1 after the long line).
	starts := lakeStarts(t, lake)
	if len(starts) != 4+4+1+1+5 {
		t.Errorf("lake holds %d records, want 15\n%s", len(starts), out)
	}
	for _, s := range starts {
		if s > 1e11 {
			t.Errorf("start %d stored in milliseconds", s)
		}
	}
	if !strings.Contains(out, "1 already stored") || !strings.Contains(out, "4 rejected") {
		t.Errorf("summary: %s", out)
	}

	// Again: nothing new, and the good inputs alone exit 0.
	code, out, errb = runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(in, "good"))
	if code != 0 || !strings.Contains(out, "3 already stored") || len(lakeStarts(t, lake)) != 15 {
		t.Errorf("re-ingest: exit %d\n%s\n%s", code, out, errb)
	}
}

// TestIngestStdin: "-" reads standard input, stored once like a file of
// the same content.
func TestIngestStdin(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	code, out, errb := runCLI(t, awsRecords, nil, "--lake", lake, "ingest", "-")
	if code != 0 || len(lakeStarts(t, lake)) != 4 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	p := filepath.Join(dir, "same.log")
	os.WriteFile(p, []byte(awsRecords), 0o644)
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 || !strings.Contains(out, "1 already stored") {
		t.Errorf("the same content from a file: exit %d\n%s\n%s", code, out, errb)
	}
}

func TestIngestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"format without start", []string{"ingest", "--format", "${version} ${srcaddr}", dir}, 2, "no ${start}"},
		{"cloudwatch without since", []string{"ingest", "cloudwatch:/vpc/flows"}, 2, "--since"},
		{"empty directory", []string{"ingest", dir}, 2, "no flow-log inputs"},
		{"missing", []string{"ingest", filepath.Join(dir, "nope.log")}, 1, "nope.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errb := runCLI(t, "", nil, append([]string{"--lake", filepath.Join(dir, "lake")}, tc.args...)...)
			if code != tc.code || !strings.Contains(errb, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errb, tc.code, tc.msg)
			}
		})
	}
}

// TestIngestDetect: --detect runs the detectors over what was stored and
// prints their alerts; ingesting the same file again stores and alerts
// nothing.
func TestIngestDetect(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 3 { // 3 × 600 kB from a watched host to the internet: over 1 MB
		b.WriteString(strings.Join([]string{"2 123456789012 eni-0a1b2c3d4e5f60011 10.0.11.50 203.0.113.77 40000 443 6 10 600000",
			strconv.Itoa(1795132800 + i*60), strconv.Itoa(1795132830 + i*60), "ACCEPT OK\n"}, " "))
	}
	p := filepath.Join(dir, "exfil.log")
	os.WriteFile(p, []byte(b.String()), 0o644)
	lake := filepath.Join(dir, "lake")
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", "--detect", p)
	if code != 0 || !strings.Contains(out, "203.0.113.77") || !strings.Contains(out, "1 alerts") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	code, out, _ = runCLI(t, "", nil, "--lake", lake, "ingest", "--detect", p)
	if code != 0 || strings.Contains(out, "203.0.113.77") || !strings.Contains(out, "1 already stored") {
		t.Errorf("again: exit %d\n%s", code, out)
	}
}
