package source

import (
	"bytes"

	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/parse"
)

// awsName is a name AWS gives a delivered text file.
const awsName = "123456789010_vpcflowlogs_us-east-1_fl-1234abcd_20141214T0400Z_1a2b3c4d.log.gz"

// countLines is the independent count: lines that are not blank and not a
// header (the first token is a number).
func countLines(text string) int64 {
	var n int64
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0][0] >= '0' && f[0][0] <= '9' {
			n++
		}
	}
	return n
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

func write(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// toParquet parses text and writes it as Parquet, as AWS's FileFormat=parquet.
func toParquet(t *testing.T, text []byte) []byte {
	t.Helper()
	r := parse.NewBytesReader(text, parse.Options{})
	defer r.Release()
	recs, err := r.ReadAll()
	if err != nil || len(recs) != 1 {
		t.Fatalf("parse: %v, %d batches", err, len(recs))
	}
	defer recs[0].Release()
	return recordParquet(t, recs[0])
}

func recordParquet(t *testing.T, rec arrow.RecordBatch) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &b, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readInput reads an input, returning its records' start values.
func readInput(t *testing.T, in *Input, opts ReadOptions) ([]int64, Stats, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts.Allocator = mem
	var starts []int64
	st, err := in.Read(t.Context(), opts, func(rec arrow.RecordBatch) error {
		c := rec.Column(rec.Schema().FieldIndices(parse.ColStart)[0]).(*array.Int64)
		starts = append(starts, c.Int64Values()...)
		return nil
	})
	return starts, st, err
}

func localInput(t *testing.T, path string) *Input {
	t.Helper()
	var c Config
	ins, probs, err := c.Expand(t.Context(), []string{path})
	if err != nil || len(probs) > 0 || len(ins) != 1 {
		t.Fatalf("expand %s: %v %v %d", path, err, probs, len(ins))
	}
	return ins[0]
}

// TestReadVariants: AWS's documented records in every shape AWS delivers
// them (and people keep them) read to the same records, counted
// independently from the raw text.
func TestReadVariants(t *testing.T) {
	dir := t.TempDir()
	def, _ := os.ReadFile("testdata/aws-default.log")
	v5, _ := os.ReadFile("testdata/aws-v5.log")
	noHeader := bytes.SplitN(def, []byte("\n"), 2)[1]
	for _, tc := range []struct {
		name string
		file string
		data []byte
		opts ReadOptions
		want int64
	}{
		{"plain text with header", "a.log", def, ReadOptions{}, countLines(string(def))},
		{"gzip with header, AWS name", awsName, gz(t, def), ReadOptions{}, countLines(string(def))},
		{"gzip named .txt", "b.txt", gz(t, def), ReadOptions{}, countLines(string(def))},
		{"no header, default format", "c.log", noHeader, ReadOptions{}, countLines(string(noHeader))},
		{"v5 custom with header", "d.log.gz", gz(t, v5), ReadOptions{}, countLines(string(v5))},
		{"AWS Parquet", strings.Replace(awsName, ".log.gz", ".log.parquet", 1), toParquet(t, noHeader), ReadOptions{}, countLines(string(noHeader))},
		{"CRLF line ends", "e.log", bytes.ReplaceAll(def, []byte("\n"), []byte("\r\n")), ReadOptions{}, countLines(string(def))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := localInput(t, write(t, filepath.Join(dir, tc.file), tc.data))
			starts, st, err := readInput(t, in, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(starts)) != tc.want || st.Records != tc.want || st.BadLines != 0 {
				t.Fatalf("%d records (stats %d, %d bad), want %d", len(starts), st.Records, st.BadLines, tc.want)
			}
			if st.Stored != int64(len(tc.data)) {
				t.Errorf("stored bytes %d, want %d", st.Stored, len(tc.data))
			}
		})
	}
}

// TestReject: inputs that are not flow logs, or cut short, give one error
// naming the input (and the line where it applies), whatever came before.
func TestReject(t *testing.T) {
	dir := t.TempDir()
	def, _ := os.ReadFile("testdata/aws-default.log")
	full := gz(t, bytes.Repeat(def, 200))
	ab := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.BinaryTypes.String}}, nil))
	ab.Field(0).(*array.Int64Builder).Append(1)
	ab.Field(1).(*array.StringBuilder).Append("x")
	notFlows := ab.NewRecordBatch()
	ab.Release()
	defer notFlows.Release()
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       error
		msg        string
	}{
		{"truncated gzip", "cut.log.gz", full[:len(full)-8], ErrTruncated, "cut.log.gz:1400: gzip stream cut short"},
		{"gzip cut mid-stream", "mid.log.gz", full[:len(full)/2], ErrTruncated, "mid.log.gz:"},
		{"binary", "bin.log", append([]byte("2 123 eni-1 "), 0, 1, 2, 0xff, 0), ErrBinary, "bin.log: binary data"},
		{"gzip of binary", "bin.gz", gz(t, []byte{0, 0, 0, 1, 2, 3}), ErrBinary, "bin.gz: binary data"},
		{"header without start", "nostart.log", []byte("version srcaddr dstaddr bytes action\n2 10.0.0.1 10.0.0.2 5 ACCEPT\n"), ErrNoStart, "nostart.log:1: the format has no ${start}"},
		{"Parquet of other columns", "other.parquet", recordParquet(t, notFlows), ErrNotFlowLogs, "other.parquet: not a flow-log Parquet file: not flow-log records: no flow-log columns (found a, b"},
		{"Parquet cut short", "cut.parquet", toParquet(t, bytes.SplitN(def, []byte("\n"), 2)[1])[:300], ErrNotFlowLogs, "cut.parquet: not a flow-log Parquet file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, filepath.Join(dir, tc.file), tc.data)
			_, _, err := readInput(t, localInput(t, path), ReadOptions{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), filepath.Join(dir, tc.msg)) && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not start with %q", err, tc.msg)
			}
		})
	}
	t.Run("format option without start", func(t *testing.T) {
		in := localInput(t, write(t, filepath.Join(dir, "x.log"), []byte("2 10.0.0.1\n")))
		_, _, err := readInput(t, in, ReadOptions{Format: parse.MustParseFormat("${version} ${srcaddr}")})
		if !errors.Is(err, ErrNoStart) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestMillis: start/end in epoch milliseconds become seconds, in text and
// in Parquet.
func TestMillis(t *testing.T) {
	dir := t.TempDir()
	text, _ := os.ReadFile("testdata/aws-millis.log")
	for _, file := range []struct {
		name string
		data []byte
	}{{"m.log", text}, {"m.parquet", parquetMillis(t, text)}} {
		starts, st, err := readInput(t, localInput(t, write(t, filepath.Join(dir, file.name), file.data)), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(starts, []int64{1418530010, 1418530010}); diff != "" {
			t.Errorf("%s: starts (-got +want):\n%s", file.name, diff)
		}
		if st.Millis != 2 {
			t.Errorf("%s: Millis = %d, want 2 (start and end of one record)", file.name, st.Millis)
		}
	}
}

// parquetMillis writes records whose start/end stay in milliseconds (the
// parser would already normalise them), as a Parquet writer elsewhere might.
func parquetMillis(t *testing.T, text []byte) []byte {
	t.Helper()
	fm := parse.DefaultFormat()
	b := array.NewRecordBuilder(memory.DefaultAllocator, fm.Schema())
	defer b.Release()
	for _, l := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		for i, tok := range strings.Fields(l) {
			fb := b.Field(i)
			if tok == "-" {
				fb.AppendNull()
				continue
			}
			if err := fb.AppendValueFromString(tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return recordParquet(t, rec)
}

// TestIdentity: identity is the content (or AWS's object name), never the
// path; an AWS object downloaded again with other content keeps its ID and
// changes its digest.
func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	def, _ := os.ReadFile("testdata/aws-default.log")
	z := gz(t, def)
	id := func(path string) Info {
		t.Helper()
		info, err := localInput(t, path).Identify(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	a := id(write(t, filepath.Join(dir, "one", "flows.log.gz"), z))
	b := id(write(t, filepath.Join(dir, "two", "copy.gz"), z))
	if a.ID != b.ID || !strings.HasPrefix(a.ID, "sha256:") || a.Name == b.Name {
		t.Errorf("same content from two paths: %+v vs %+v", a, b)
	}
	aws1 := id(write(t, filepath.Join(dir, "AWSLogs", "x", awsName), z))
	aws2 := id(write(t, filepath.Join(dir, "sync2", awsName), gz(t, append(def, def...))))
	if aws1.ID != "aws:"+awsName || aws2.ID != aws1.ID || aws1.Digest == aws2.Digest || aws1.Digest == "" {
		t.Errorf("AWS object: %+v vs %+v", aws1, aws2)
	}
	// Standard input: spooled so that it is hashed and then read.
	c := Config{Stdin: bytes.NewReader(z)}
	ins, _, err := c.Expand(t.Context(), []string{"-"})
	if err != nil {
		t.Fatal(err)
	}
	in := ins[0]
	defer in.Close()
	info, err := in.Identify(t.Context())
	if err != nil || info.ID != a.ID || info.Kind != KindStdin {
		t.Fatalf("stdin: %+v %v; want ID %s", info, err, a.ID)
	}
	starts, _, err := readInput(t, in, ReadOptions{})
	if err != nil || int64(len(starts)) != countLines(string(def)) {
		t.Fatalf("stdin read: %d records, %v", len(starts), err)
	}
	name := in.spool.f.Name()
	in.Close()
	if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("spool %s left behind: %v", name, err)
	}
}

// TestExpandLocal: directories are walked for flow-log files in AWS's
// layouts; hidden and _ directories and the lake are skipped; the account
// and region filter applies to AWS-delivered names; an unreadable
// subdirectory is reported and the rest is kept.
func TestExpandLocal(t *testing.T) {
	dir := t.TempDir()
	z := gz(t, []byte("x\n"))
	files := []string{
		"AWSLogs/123456789010/vpcflowlogs/us-east-1/2014/12/14/" + awsName,
		"AWSLogs/123456789010/vpcflowlogs/eu-west-1/2014/12/14/" + strings.Replace(awsName, "us-east-1", "eu-west-1", 1),
		"AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=us-east-1/year=2014/month=12/day=14/hour=04/" +
			strings.Replace(strings.Replace(awsName, "123456789010", "210987654321", 1), ".log.gz", ".log.parquet", 1),
		"mine/flows.log", "mine/notes.md", "mine/.hidden.log", ".git/x.log", "lake/year=2014/month=12/day=14/hour=04/b.parquet",
		"_flowq/staging/s.parquet",
	}
	for _, f := range files {
		write(t, filepath.Join(dir, f), z)
	}
	rel := func(ins []*Input) []string {
		var out []string
		for _, in := range ins {
			r, _ := filepath.Rel(dir, in.Name)
			out = append(out, filepath.ToSlash(r))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		c    Config
		want []string
	}{
		{"all", Config{Skip: filepath.Join(dir, "lake")}, []string{files[1], files[0], files[2], "mine/flows.log"}},
		{"account", Config{Filter: Filter{Account: "210987654321"}, Skip: filepath.Join(dir, "lake")}, []string{files[2]}},
		{"region", Config{Filter: Filter{Region: "us-east-1"}, Skip: filepath.Join(dir, "lake")}, []string{files[0], files[2]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins, probs, err := tc.c.Expand(t.Context(), []string{dir})
			if err != nil || len(probs) > 0 {
				t.Fatal(err, probs)
			}
			if diff := cmp.Diff(rel(ins), tc.want); diff != "" {
				t.Errorf("inputs (-got +want):\n%s", diff)
			}
		})
	}
	t.Run("unreadable subdirectory", func(t *testing.T) {
		fsys := fstest.MapFS{
			"a/one.log": {Data: []byte("x")},
			"b/two.log": {Data: []byte("x")},
		}
		c := Config{dirFS: func(string) fs.FS { return failDir{fsys, "a"} }}
		ins, probs, err := c.Expand(t.Context(), []string{dir})
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != 1 || !strings.HasSuffix(ins[0].Name, "two.log") {
			t.Errorf("inputs %v, want b/two.log", rel(ins))
		}
		if len(probs) != 1 || !strings.Contains(probs[0].Error(), filepath.Join(dir, "a")+": open: permission denied") {
			t.Errorf("problems %v, want one naming %s", probs, filepath.Join(dir, "a"))
		}
	})
	t.Run("missing", func(t *testing.T) {
		var c Config
		if _, _, err := c.Expand(t.Context(), []string{filepath.Join(dir, "nope")}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v", err)
		}
	})
}

// failDir is a file system whose directory bad cannot be read.
type failDir struct {
	fstest.MapFS
	bad string
}

func (f failDir) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == f.bad {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.MapFS.ReadDir(name)
}

func TestParseAWSName(t *testing.T) {
	for name, want := range map[string]AWSObject{
		awsName: {Name: awsName, Account: "123456789010", Region: "us-east-1", FlowLogID: "fl-1234abcd", Time: "20141214T0400Z"},
		"AWSLogs/1/x/123456789010_vpcflowlogs_eu-west-1_fl-0abc_20261120T0805Z_deadbeef.log.parquet": {
			Name: "123456789010_vpcflowlogs_eu-west-1_fl-0abc_20261120T0805Z_deadbeef.log.parquet", Account: "123456789010", Region: "eu-west-1", FlowLogID: "fl-0abc", Time: "20261120T0805Z"},
		"flows.log.gz": {},
		"123456789010_vpcflowlogs_us-east-1_fl-1234abcd_20141214T0400Z_1a2b3c4d.log.gz.tmp": {},
	} {
		got, ok := ParseAWSName(name)
		if ok != (want.Name != "") || got != want {
			t.Errorf("ParseAWSName(%q) = %+v, %v; want %+v", name, got, ok, want)
		}
	}
}
