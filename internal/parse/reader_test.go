package parse_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

var update = flag.Bool("update", false, "rewrite golden files")

// result is everything a parse produces, rendered as text for golden files.
type result struct {
	JSON     []string
	Errors   []string
	Warnings []string
	Schemas  []string
	Stats    parse.Stats
}

func (r result) String() string {
	var b strings.Builder
	for _, s := range r.Schemas {
		fmt.Fprintf(&b, "# schema %s\n", s)
	}
	for _, l := range r.JSON {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "# error %s\n", e)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "# warning %s\n", w)
	}
	s := r.Stats
	fmt.Fprintf(&b, "# stats lines=%d records=%d bytes=%d headers=%d blank=%d bad=%d %v nodata=%d skipdata=%d batches=%d\n",
		s.Lines, s.Records, s.Bytes, s.Headers, s.Blank, s.BadLines, s.BadByReason(), s.NoData, s.SkipData, s.Batches)
	return b.String()
}

func schemaString(sc *arrow.Schema) string {
	parts := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		parts[i] = f.Name + ":" + f.Type.String()
	}
	return strings.Join(parts, ",")
}

// parseAll runs a reader to the end under a checked allocator that must end
// at zero bytes.
func parseAll(t testing.TB, newReader func(parse.Options) *parse.Reader, opts parse.Options) result {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var res result
	opts.Allocator = mem
	opts.OnBadLine = func(e *parse.LineError) { res.Errors = append(res.Errors, e.Error()) }
	opts.OnWarning = func(e *parse.LineError) { res.Warnings = append(res.Warnings, e.Error()) }
	r := newReader(opts)
	defer r.Release()
	last := ""
	for r.Next() {
		rec := r.RecordBatch()
		checkColumns(t, rec)
		if s := schemaString(rec.Schema()); s != last {
			res.Schemas = append(res.Schemas, s)
			last = s
		}
		enc := parse.NewEncoder(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			res.JSON = append(res.JSON, string(enc.AppendJSON(nil, i)))
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("reader error: %v", err)
	}
	res.Stats = r.Stats()
	return res
}

func checkColumns(t testing.TB, rec arrow.RecordBatch) {
	t.Helper()
	for i, c := range rec.Columns() {
		if int64(c.Len()) != rec.NumRows() {
			t.Fatalf("column %s has %d values, batch has %d rows", rec.ColumnName(i), c.Len(), rec.NumRows())
		}
	}
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".log")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := parseAll(t, func(o parse.Options) *parse.Reader { return parse.NewBytesReader(data, o) }, parse.Options{Name: name + ".log"}).String()
			golden := strings.TrimSuffix(path, ".log") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(got, string(want)); diff != "" {
				t.Errorf("golden mismatch (-got +want):\n%s", diff)
			}
			// The streaming reader, fed one byte at a time, must agree with the
			// fast path, and so must tiny batches.
			stream := parseAll(t, func(o parse.Options) *parse.Reader {
				return parse.NewReader(iotest.OneByteReader(bytes.NewReader(data)), o)
			}, parse.Options{Name: name + ".log", BatchSize: 2})
			stream.Stats.Batches = 0
			fast := parseAll(t, func(o parse.Options) *parse.Reader { return parse.NewBytesReader(data, o) }, parse.Options{Name: name + ".log"})
			fast.Stats.Batches = 0
			stream.Schemas, fast.Schemas = nil, nil
			if diff := cmp.Diff(stream, fast); diff != "" {
				t.Errorf("streaming differs from fast path (-stream +fast):\n%s", diff)
			}
		})
	}
}

func TestFieldTypes(t *testing.T) {
	tests := []struct {
		name   string
		format string
		line   string
		want   string // JSON of the one record, or "" if the line must be rejected
		reason error
	}{
		{"int32 port", "${srcport}", "443", `{"srcport":443}`, nil},
		{"port max", "${dstport}", "65535", `{"dstport":65535}`, nil},
		{"port too big", "${dstport}", "65536", "", parse.ErrRange},
		{"protocol max", "${protocol}", "255", `{"protocol":255}`, nil},
		{"protocol too big", "${protocol}", "256", "", parse.ErrRange},
		{"int64 bytes", "${bytes}", "9223372036854775807", `{"bytes":9223372036854775807}`, nil},
		{"int64 overflow", "${bytes}", "9223372036854775808", "", parse.ErrRange},
		{"20 digits", "${packets}", "12345678901234567890", "", parse.ErrRange},
		{"leading zeros fit", "${packets}", "0000000000000000000042", `{"packets":42}`, nil},
		{"negative", "${bytes}", "-5", "", parse.ErrSyntax},
		{"not a number", "${start}", "12a", "", parse.ErrSyntax},
		{"dash is null int", "${end}", "-", `{"end":null}`, nil},
		{"dash is null string", "${srcaddr}", "-", `{"srcaddr":null}`, nil},
		{"string", "${interface-id}", "eni-0abc", `{"interface_id":"eni-0abc"}`, nil},
		{"action accept", "${action}", "ACCEPT", `{"action":"ACCEPT"}`, nil},
		{"action reject", "${action}", "REJECT", `{"action":"REJECT"}`, nil},
		{"action bad", "${action}", "accept", "", parse.ErrValue},
		{"status nodata", "${log-status}", "NODATA", `{"log_status":"NODATA"}`, nil},
		{"status bad", "${log-status}", "FAIL", "", parse.ErrValue},
		{"tcp flags", "${tcp-flags}", "19", `{"tcp_flags":19}`, nil},
		{"traffic path", "${traffic-path}", "8", `{"traffic_path":8}`, nil},
		{"encryption status", "${encryption-status}", "3", `{"encryption_status":3}`, nil},
		{"encryption status range", "${encryption-status}", "4", "", parse.ErrRange},
		{"tgw packets lost", "${packets-lost-blackhole}", "7", `{"packets_lost_blackhole":7}`, nil},
		{"percent-encoded tag", "${instance-tag}", "web%20tier", `{"instance_tag":"web%20tier"}`, nil},
		{"unicode", "${ecs-service-name}", "dienst-ü", `{"ecs_service_name":"dienst-ü"}`, nil},
		{"bad utf8", "${ecs-service-name}", "x\xff", "", parse.ErrUTF8},
		{"too few", "${srcaddr} ${dstaddr}", "10.0.0.1", "", parse.ErrFieldCount},
		{"too many", "${srcaddr}", "10.0.0.1 10.0.0.2", "", parse.ErrFieldCount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var gotErr error
			fm := parse.MustParseFormat(tc.format)
			r := parse.NewBytesReader([]byte(tc.line+"\n"), parse.Options{Format: fm, OnBadLine: func(e *parse.LineError) { gotErr = e }})
			defer r.Release()
			for r.Next() {
				enc := parse.NewEncoder(r.RecordBatch())
				for i := 0; i < int(r.RecordBatch().NumRows()); i++ {
					got = append(got, string(enc.AppendJSON(nil, i)))
				}
			}
			if tc.want == "" {
				if len(got) != 0 || gotErr == nil || !errors.Is(gotErr, tc.reason) {
					t.Fatalf("got %v, err %v; want rejection with %v", got, gotErr, tc.reason)
				}
				return
			}
			if gotErr != nil || len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %v, err %v; want %s", got, gotErr, tc.want)
			}
		})
	}
}

// TestEveryVersion parses a record of each version's full field set as
// generated by synth, and checks every known field is reachable and typed as
// AWS's Parquet says.
func TestEveryVersion(t *testing.T) {
	all := parse.KnownFields()
	for v := 2; v <= 11; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			var names []string
			for _, f := range all {
				if f.Version == v || v == 2 && f.Version == 2 {
					names = append(names, "${"+f.Name+"}")
				}
			}
			if len(names) == 0 {
				t.Fatalf("no fields of version %d", v)
			}
			fm, err := parse.ParseFormat(strings.Join(names, " "))
			if err != nil {
				t.Fatal(err)
			}
			if fm.Version() != v {
				t.Errorf("format version = %d, want %d", fm.Version(), v)
			}
			line := make([]string, fm.Len())
			for i := range line {
				switch fm.Field(i).Kind {
				case parse.String:
					line[i] = "x"
					if fm.Field(i).Name == "action" {
						line[i] = "ACCEPT"
					}
					if fm.Field(i).Name == "log-status" {
						line[i] = "OK"
					}
				default:
					line[i] = "1"
				}
			}
			res := parseAll(t, func(o parse.Options) *parse.Reader {
				return parse.NewBytesReader([]byte(strings.Join(line, " ")), o)
			}, parse.Options{Format: fm})
			if res.Stats.Records != 1 || len(res.Errors) != 0 {
				t.Fatalf("records=%d errors=%v", res.Stats.Records, res.Errors)
			}
		})
	}
	want := map[string]string{
		"version": "int32", "srcport": "int32", "dstport": "int32", "protocol": "int32", "tcp_flags": "int32", "traffic_path": "int32",
		"packets": "int64", "bytes": "int64", "start": "int64", "end": "int64",
		"account_id": "utf8", "log_status": "utf8", "pkt_dst_aws_service": "utf8", "ecs_task_arn": "utf8", "reject_reason": "utf8",
	}
	for col, typ := range want {
		f, ok := parse.Lookup(col)
		if !ok || f.Kind.DataType().String() != typ {
			t.Errorf("column %s: got %v %v, want %s", col, ok, f.Kind.DataType(), typ)
		}
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", ""},
		{parse.DefaultFormatString, ""},
		{"${tcpflags}", "unknown flow-log field ${tcpflags}: did you mean ${tcp-flags}?"},
		{"${windowstart}", "did you mean ${start}?"},
		{"${windowend}", "did you mean ${end}?"},
		{"${srcadr}", "did you mean ${srcaddr}?"},
		{"${zzzzzzzzzzzz}", "unknown flow-log field ${zzzzzzzzzzzz}"},
		{"${srcaddr} ${srcaddr}", "appears twice"},
		{"${srcaddr", "malformed token"},
		{"srcaddr dstaddr", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			fm, err := parse.ParseFormat(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if tc.in == "" && fm.String() != parse.DefaultFormatString {
					t.Errorf("empty format = %q, want default", fm.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
	// The seed document's format, with AWS's real names, parses to version 3.
	seed := "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${tcp-flags} ${type}"
	fm := parse.MustParseFormat(seed)
	if fm.Version() != 3 || fm.String() != seed {
		t.Errorf("seed format: version %d, string %q", fm.Version(), fm.String())
	}
	if _, err := parse.ParseFormat("${tcpflags}"); !errors.Is(err, parse.ErrUnknownField) {
		t.Errorf("unknown field error does not wrap ErrUnknownField: %v", err)
	}
}

func TestBadInputKeepsNeighbours(t *testing.T) {
	good := "2 123456789012 eni-1 10.0.11.50 10.0.21.100 49152 5432 6 20 4249 1795132800 1795132860 ACCEPT OK"
	huge := strings.Repeat("x", 1<<20)
	tests := []struct {
		name string
		bad  string
		want error
	}{
		{"truncated", good[:40], parse.ErrFieldCount},
		{"extra field", good + " 7", parse.ErrFieldCount},
		{"missing field", strings.Replace(good, " 6 ", " ", 1), parse.ErrFieldCount},
		{"20 digits", strings.Replace(good, "4249", "12345678901234567890", 1), parse.ErrRange},
		{"negative", strings.Replace(good, "4249", "-4249", 1), parse.ErrSyntax},
		{"non-utf8", strings.Replace(good, "eni-1", "eni-\xc3\x28", 1), parse.ErrUTF8},
		{"1 MB line", huge, parse.ErrLineTooLong},
		{"1 MB line of fields", strings.Repeat("2 ", 1<<19), parse.ErrLineTooLong},
		{"binary", "\x00\x01\x02 \xff", parse.ErrFieldCount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			input := good + "\n" + tc.bad + "\n" + good + "\n"
			for _, mode := range []string{"bytes", "stream"} {
				res := parseAll(t, func(o parse.Options) *parse.Reader {
					if mode == "bytes" {
						return parse.NewBytesReader([]byte(input), o)
					}
					return parse.NewReader(iotest.HalfReader(strings.NewReader(input)), o)
				}, parse.Options{Name: "in.log"})
				if res.Stats.Records != 2 || res.Stats.BadLines != 1 || len(res.Errors) != 1 {
					t.Fatalf("%s: records=%d bad=%d errors=%v", mode, res.Stats.Records, res.Stats.BadLines, res.Errors)
				}
				if !strings.HasPrefix(res.Errors[0], "in.log:2: ") {
					t.Errorf("%s: error %q does not name file and line 2", mode, res.Errors[0])
				}
				if res.Stats.Lines != 3 || res.Stats.Bytes != int64(len(input)) {
					t.Errorf("%s: lines=%d bytes=%d, want 3 and %d", mode, res.Stats.Lines, res.Stats.Bytes, len(input))
				}
			}
		})
	}
	t.Run("reasons are classified", func(t *testing.T) {
		var errs []error
		r := parse.NewBytesReader([]byte(good[:30]+"\n"+strings.Replace(good, "6 20", "6 x", 1)), parse.Options{OnBadLine: func(e *parse.LineError) {
			errs = append(errs, fmt.Errorf("wrapped: %w", e))
		}})
		for r.Next() {
		}
		r.Release()
		var le *parse.LineError
		if len(errs) != 2 || !errors.As(errs[1], &le) || le.Field != "packets" || le.Line != 2 || !errors.Is(errs[0], parse.ErrFieldCount) {
			t.Fatalf("errors = %v", errs)
		}
	})
}

func TestEmptyInput(t *testing.T) {
	for _, in := range []string{"", "\n", "\r\n\r\n", "\r\r\r\n", "   \n"} {
		res := parseAll(t, func(o parse.Options) *parse.Reader { return parse.NewBytesReader([]byte(in), o) }, parse.Options{})
		if res.Stats.Records != 0 || res.Stats.BadLines != 0 || res.Stats.Batches != 0 {
			t.Errorf("%q: %+v", in, res.Stats)
		}
	}
}

// TestLineEndWhitespace: CRs and spaces in any mix after a line's last
// value are its ending, not part of the value, so the record written back as
// text reads the same.
func TestLineEndWhitespace(t *testing.T) {
	const line = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	want := parseAll(t, func(o parse.Options) *parse.Reader { return parse.NewBytesReader([]byte(line+"\n"), o) }, parse.Options{})
	for _, end := range []string{"\r \n", " \r\n", "\r \r  \n", "\r  "} {
		got := parseAll(t, func(o parse.Options) *parse.Reader { return parse.NewBytesReader([]byte(line+end), o) }, parse.Options{})
		if len(got.JSON) != 1 || len(got.Errors) != 0 || got.JSON[0] != want.JSON[0] {
			t.Errorf("ending %q: %v, errors %v; want %v", end, got.JSON, got.Errors, want.JSON)
		}
	}
}

func TestIOError(t *testing.T) {
	boom := errors.New("disk on fire")
	in := io.MultiReader(strings.NewReader("2 1 eni-1 a b 1 2 6 1 1 1 1 ACCEPT OK\n"), iotest.ErrReader(boom))
	r := parse.NewReader(in, parse.Options{})
	defer r.Release()
	n := 0
	for r.Next() {
		n += int(r.RecordBatch().NumRows())
	}
	if !errors.Is(r.Err(), boom) || n != 1 {
		t.Fatalf("err = %v, records = %d; want the I/O error after 1 record", r.Err(), n)
	}
}

// TestBatches checks batch sizing and that every record of a large synthetic
// input arrives once, in order, across many batches and both read paths.
func TestBatches(t *testing.T) {
	fm := parse.DefaultFormat()
	data := synth.Text(7, fm, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), 50_000, false)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for _, batch := range []int{1, 1000, 16384, 100_000} {
		for _, mode := range []string{"bytes", "stream"} {
			t.Run(fmt.Sprintf("%s/%d", mode, batch), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				opts := parse.Options{BatchSize: batch, Allocator: mem}
				var r *parse.Reader
				if mode == "bytes" {
					r = parse.NewBytesReader(data, opts)
				} else {
					r = parse.NewReader(bytes.NewReader(data), opts)
				}
				defer r.Release()
				i := 0
				var buf []byte
				for r.Next() {
					rec := r.RecordBatch()
					if rec.NumRows() > int64(batch) {
						t.Fatalf("batch of %d rows, limit %d", rec.NumRows(), batch)
					}
					enc := parse.NewEncoder(rec)
					for j := 0; j < int(rec.NumRows()); j++ {
						buf = enc.AppendText(buf[:0], j)
						if !bytes.Equal(buf, lines[i]) {
							t.Fatalf("record %d = %q, want %q", i, buf, lines[i])
						}
						i++
					}
				}
				if i != len(lines) {
					t.Fatalf("got %d records, want %d", i, len(lines))
				}
			})
		}
	}
}

// TestRetainedBatchSurvivesNext checks that a retained batch is not
// overwritten by later batches.
func TestRetainedBatchSurvivesNext(t *testing.T) {
	data := synth.Text(3, parse.DefaultFormat(), time.Unix(1795132800, 0), 100, false)
	r := parse.NewBytesReader(data, parse.Options{BatchSize: 10})
	defer r.Release()
	r.Next()
	first := r.RecordBatch()
	first.Retain()
	defer first.Release()
	want := string(parse.NewEncoder(first).AppendJSON(nil, 0))
	for r.Next() {
	}
	if got := string(parse.NewEncoder(first).AppendJSON(nil, 0)); got != want {
		t.Fatalf("retained batch changed: %s != %s", got, want)
	}
}

func TestJSONIsValid(t *testing.T) {
	line := "x\"y\\z\x01\t" + "\u2028é"
	fm := parse.MustParseFormat("${ecs-service-name}")
	r := parse.NewBytesReader([]byte("a\"b\\c\x01\u2028é"), parse.Options{Format: fm})
	defer r.Release()
	if !r.Next() {
		t.Fatal("no record")
	}
	js := parse.NewEncoder(r.RecordBatch()).AppendJSON(nil, 0)
	var m map[string]string
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", js, err)
	}
	if m["ecs_service_name"] != "a\"b\\c\x01\u2028é" {
		t.Fatalf("round trip = %q (%s)", m["ecs_service_name"], line)
	}
}

// TestReadAll: every batch, retained past Release, all memory returned
// once the caller releases them; rejected lines are counted, not errors.
func TestReadAll(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	data := append(synth.Text(5, parse.DefaultFormat(), time.Unix(1795132800, 0), 2500, false), "not a record\n"...)
	r := parse.NewBytesReader(data, parse.Options{BatchSize: 1000, Allocator: mem})
	recs, err := r.ReadAll()
	r.Release()
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, rec := range recs {
		checkColumns(t, rec)
		rows += rec.NumRows()
		rec.Release()
	}
	if len(recs) != 3 || rows != 2500 || r.Stats().BadLines != 1 {
		t.Fatalf("%d batches, %d rows, stats %+v", len(recs), rows, r.Stats())
	}
}
