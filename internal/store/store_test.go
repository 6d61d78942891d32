package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// checkedMem returns an allocator that must be empty when the test ends.
func checkedMem(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// parseText parses flow-log text into batches; the caller releases them.
func parseText(t testing.TB, mem memory.Allocator, text []byte, batch int) []arrow.RecordBatch {
	t.Helper()
	r := parse.NewBytesReader(text, parse.Options{Allocator: mem, BatchSize: batch})
	defer r.Release()
	recs, _ := r.ReadAll() // in-memory input: no I/O error
	if r.Stats().BadLines > 0 {
		t.Fatalf("bad lines: %+v", r.Stats())
	}
	return recs
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// totals is what a test sums over the lake or the text.
type totals struct {
	Rows  int64
	Bytes int64
	Parts int
}

// lakeTotals reads every live object back.
func lakeTotals(t testing.TB, l *Lake) totals {
	t.Helper()
	ctx := context.Background()
	objs, err := l.Objects(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tot totals
	parts := map[Partition]bool{}
	for _, o := range objs {
		parts[o.Partition] = true
		err := l.readObject(ctx, o.Key, func(rec arrow.RecordBatch) error {
			tot.Rows += rec.NumRows()
			if i := rec.Schema().FieldIndices(parse.ColBytes); len(i) > 0 {
				col := rec.Column(i[0]).(*array.Int64)
				for j := 0; j < col.Len(); j++ {
					if col.IsValid(j) {
						tot.Bytes += col.Value(j)
					}
				}
			}
			// Every row is in the partition of its start.
			st := rec.Column(rec.Schema().FieldIndices(parse.ColStart)[0]).(*array.Int64)
			for j := 0; j < st.Len(); j++ {
				if got := PartitionOf(st.Value(j)); got != o.Partition {
					return fmt.Errorf("%s: row %d start %d belongs to %s", o.Key, j, st.Value(j), got)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tot.Parts = len(parts)
	return tot
}

// textTotals sums the text independently of the parser.
func textTotals(text []byte) totals {
	var tot totals
	parts := map[Partition]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(text), []byte("\n")) {
		f := bytes.Fields(line)
		tot.Rows++
		var b, st int64
		fmt.Sscan(string(f[9]), &b)
		fmt.Sscan(string(f[10]), &st)
		tot.Bytes += b
		parts[PartitionOf(st)] = true
	}
	tot.Parts = len(parts)
	return tot
}

func TestWriteRoundTrip(t *testing.T) {
	mem := checkedMem(t)
	ctx := context.Background()
	text := synth.Text(1, parse.DefaultFormat(), t0, 5000, false)
	recs := parseText(t, mem, text, 1000)
	defer release(recs)
	l, err := Open(ctx, t.TempDir(), Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Write(ctx, "file-1", recs)
	if err != nil {
		t.Fatal(err)
	}
	want := textTotals(text)
	if res.Rows != want.Rows || len(res.Objects) != want.Parts || res.Bytes <= 0 {
		t.Errorf("result = %d rows in %d objects, want %d rows in %d", res.Rows, len(res.Objects), want.Rows, want.Parts)
	}
	if diff := cmp.Diff(lakeTotals(t, l), want); diff != "" {
		t.Errorf("lake totals (-got +want):\n%s", diff)
	}
	// The same batch again replaces; a different batch adds.
	if _, err := l.Write(ctx, "file-1", recs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lakeTotals(t, l), want); diff != "" {
		t.Errorf("after rewrite (-got +want):\n%s", diff)
	}
	if _, err := l.Write(ctx, "file-2", recs); err != nil {
		t.Fatal(err)
	}
	if got := lakeTotals(t, l).Rows; got != 2*want.Rows {
		t.Errorf("after second batch: %d rows, want %d", got, 2*want.Rows)
	}
	// No temporary files are left behind.
	filepath.WalkDir(l.Local(), func(p string, d os.DirEntry, err error) error {
		if filepath.Ext(p) == ".tmp" {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestWriteSchemasAndNullStart(t *testing.T) {
	mem := checkedMem(t)
	ctx := context.Background()
	v5 := parse.MustParseFormat("${version} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction}")
	text := "2 10.0.11.5 1.1.1.1 100 1763596800 1763596860 ACCEPT OK\n" + // 2025-11-20T00:00
		"2 10.0.11.5 1.1.1.1 200 1763600400 1763600460 ACCEPT OK\n" + // 01:00
		"2 10.0.11.5 1.1.1.1 300 - - - NODATA\n"
	fm := parse.MustParseFormat("${version} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action} ${log-status}")
	r1 := parse.NewBytesReader([]byte(text), parse.Options{Allocator: mem, Format: fm})
	defer r1.Release()
	r1.Next()
	a := r1.RecordBatch()
	a.Retain()
	defer a.Release()
	r2 := parse.NewBytesReader([]byte("5 10.0.11.6 1.1.1.1 400 1763596900 1763596960 ACCEPT OK egress\n"), parse.Options{Allocator: mem, Format: v5})
	defer r2.Release()
	r2.Next()
	b := r2.RecordBatch()

	l, err := Open(ctx, t.TempDir(), Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Write(ctx, "mixed", []arrow.RecordBatch{a, b})
	if err != nil {
		t.Fatal(err)
	}
	got := append([]string(nil), res.Objects...)
	sort.Strings(got)
	id := batchName("mixed", 0)
	id1 := batchName("mixed", 1)
	// The NODATA record has no start: rejected, counted, not put in 1970.
	want := []string{
		"year=2025/month=11/day=20/hour=00/" + id,
		"year=2025/month=11/day=20/hour=00/" + id1,
		"year=2025/month=11/day=20/hour=01/" + id,
	}
	sort.Strings(want)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("objects (-got +want):\n%s", diff)
	}
	if res.Rows != 3 || res.Rejected != 1 {
		t.Errorf("rows = %d, rejected = %d; want 3, 1", res.Rows, res.Rejected)
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "nope"), Options{})
	if err == nil || !errorsIs(err, ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
	if _, err := Open(context.Background(), "ftp://x", Options{}); err == nil {
		t.Fatal("ftp:// accepted")
	}
	l, err := Open(context.Background(), "file://"+t.TempDir(), Options{})
	if err != nil || l.Local() == "" {
		t.Fatalf("file:// lake: %v", err)
	}
}

func TestCompactUnderConcurrentWrites(t *testing.T) {
	mem := checkedMem(t)
	ctx := context.Background()
	l, err := Open(ctx, t.TempDir(), Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	const writers, batches = 3, 20
	text := synth.Text(7, parse.DefaultFormat(), t0, 400, false) // spans all 24 hours
	recs := parseText(t, mem, text, 100)
	defer release(recs)
	per := textTotals(text)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				if _, err := l.Write(ctx, fmt.Sprintf("w%d/b%d", w, i), recs); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 { // a retry of an earlier batch: must not duplicate
					if _, err := l.Write(ctx, fmt.Sprintf("w%d/b%d", w, 0), recs); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	var compactions int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
				errs <- err
				return
			}
			compactions++
			// A reader listing meanwhile never sees more than was written.
			if got := lakeTotals(t, l).Rows; got > writers*batches*per.Rows {
				errs <- fmt.Errorf("mid-compaction: %d rows, more than ever written", got)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-done
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := totals{Rows: writers * batches * per.Rows, Bytes: writers * batches * per.Bytes, Parts: per.Parts}
	if diff := cmp.Diff(lakeTotals(t, l), want); diff != "" {
		t.Errorf("after concurrent writes (-got +want):\n%s", diff)
	}
	res, err := l.Compact(ctx, CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lakeTotals(t, l), want); diff != "" {
		t.Errorf("after final compaction (-got +want):\n%s", diff)
	}
	objs, _ := l.Objects(ctx, nil)
	if len(objs) != per.Parts {
		t.Errorf("%d objects after compaction, want one per partition (%d); last run %+v", len(objs), per.Parts, res)
	}
	// Re-writing an already merged batch is not counted twice.
	if _, err := l.Write(ctx, "w0/b3", recs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lakeTotals(t, l), want); diff != "" {
		t.Errorf("after re-writing a merged batch (-got +want):\n%s", diff)
	}
	t.Logf("%d compactions ran during the writes", compactions)
}

func TestReadParquetAWSNative(t *testing.T) {
	mem := checkedMem(t)
	// AWS's Parquet: exact column names, int32/int64/utf8, written with
	// another writer's defaults (gzip, no dictionary).
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "version", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "srcaddr", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "protocol", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, // Athena's bigint
		{Name: "bytes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "start", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "log_status", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{5, 5}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"10.0.11.5", ""}, []bool{true, false})
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{6, 0}, []bool{true, false})
	b.Field(3).(*array.Int64Builder).AppendValues([]int64{1500, 0}, []bool{true, false})
	b.Field(4).(*array.Int64Builder).AppendValues([]int64{1763596800, 1763596800}, nil)
	b.Field(5).(*array.LargeStringBuilder).AppendValues([]string{"OK", "NODATA"}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Gzip), parquet.WithDictionaryDefault(false), parquet.WithAllocator(mem)), pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var got []string
	err = ReadParquet(context.Background(), bytes.NewReader(buf.Bytes()), mem, func(r arrow.RecordBatch) error {
		for i, f := range r.Schema().Fields() {
			got = append(got, f.Name+":"+f.Type.String()+"="+r.Column(i).String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`version:int32=[5 5]`,
		`srcaddr:utf8=["10.0.11.5" (null)]`,
		`protocol:int32=[6 (null)]`,
		`bytes:int64=[1500 (null)]`,
		`start:int64=[1763596800 1763596800]`,
		`log_status:utf8=["OK" "NODATA"]`,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("conformed columns (-got +want):\n%s", diff)
	}
}

func TestS3Backend(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	mem := checkedMem(t)
	l, err := Open(ctx, "s3://lake/flows/", Options{S3: client, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	text := synth.Text(3, parse.DefaultFormat(), t0, 300, false)
	recs := parseText(t, mem, text, 100)
	defer release(recs)
	for range 2 { // idempotent: the second write replaces the first
		if _, err := l.Write(ctx, "group/stream/1", recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Write(ctx, "group/stream/2", recs); err != nil {
		t.Fatal(err)
	}
	per := textTotals(text)
	want := totals{Rows: 2 * per.Rows, Bytes: 2 * per.Bytes, Parts: per.Parts}
	if diff := cmp.Diff(lakeTotals(t, l), want); diff != "" {
		t.Errorf("s3 lake (-got +want):\n%s", diff)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lakeTotals(t, l), want); diff != "" {
		t.Errorf("s3 lake after compaction (-got +want):\n%s", diff)
	}
	objs, err := l.Objects(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != per.Parts {
		t.Errorf("%d objects after compaction, want %d", len(objs), per.Parts)
	}
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake")})
	if err != nil {
		t.Fatal(err)
	}
	if k := aws.ToString(out.Contents[0].Key); len(k) < 6 || k[:6] != "flows/" {
		t.Errorf("key %q outside the prefix", k)
	}
	// Downloaded copies keep the partition directories.
	files, err := l.LocalFiles(ctx, objs[:1], t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files[0]); err != nil || filepath.Base(filepath.Dir(files[0]))[:5] != "hour=" {
		t.Errorf("local copy %s: %v", files[0], err)
	}
	// Conditional put: an existing key is kept.
	be := l.be.(*s3Backend)
	if err := be.put(ctx, "x", []byte("one"), true); err != nil {
		t.Fatal(err)
	}
	if err := be.put(ctx, "x", []byte("two"), true); err != nil {
		t.Fatal(err)
	}
	if data, _ := be.get(ctx, "x"); string(data) != "one" {
		t.Logf("moto ignores If-None-Match: got %q", data)
	}
}

func errorsIs(err, target error) bool {
	for e := err; e != nil; {
		if e == target {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func TestWriteNoDataOnly(t *testing.T) {
	mem := checkedMem(t)
	ctx := context.Background()
	text := []byte("2 123456789012 eni-1 - - - - - - - 1763596800 1763596860 - NODATA\n2 123456789012 eni-2 - - - - - - - 1763596801 1763596861 - SKIPDATA\n")
	recs := parseText(t, mem, text, 10)
	defer release(recs)
	l, err := Open(ctx, t.TempDir(), Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write(ctx, "nodata", recs); err != nil {
		t.Fatal(err)
	}
	if got := lakeTotals(t, l); got.Rows != 2 || got.Bytes != 0 {
		t.Errorf("got %+v", got)
	}
}
