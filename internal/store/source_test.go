package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// ingest stores recs as one source, staging a chunk every chunk records.
func ingest(t *testing.T, l *Lake, info SourceInfo, recs []arrow.RecordBatch, chunk int64) (Source, error) {
	t.Helper()
	ctx := context.Background()
	w, err := l.Begin(ctx, info)
	if err != nil {
		return Source{}, err
	}
	if chunk > 0 {
		w.chunk = chunk
	}
	for _, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			w.Abort(ctx)
			return Source{}, err
		}
	}
	return w.Commit(ctx)
}

// stagedFiles lists the files under _flowq/staging.
func stagedFiles(t *testing.T, root string) []string {
	var out []string
	filepath.WalkDir(filepath.Join(root, "_flowq", "staging"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func sourceText(t *testing.T, seed uint64, n int) ([]arrow.RecordBatch, totals) {
	mem := checkedMem(t)
	text := synth.Text(seed, parse.DefaultFormat(), t0, n, false)
	recs := parseText(t, mem, text, 50)
	t.Cleanup(func() { release(recs) })
	return recs, textTotals(text)
}

// TestSourceExactlyOnce: the same source committed again is refused and
// nothing is written; the same ID with another digest (a corrected
// re-download of an AWS object) replaces the first version. Old code keyed
// objects by path and content, so a copy of a file or a re-download was
// stored twice.
func TestSourceExactlyOnce(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, tot := sourceText(t, 5, 200)
	info := SourceInfo{ID: "123456789012_vpcflowlogs_us-east-1_fl-1_20261120T0000Z_abcd.log.gz", Name: "/data/a.log.gz", Kind: "file", Digest: "sha256:one"}
	src, err := ingest(t, l, info, recs, 64)
	if err != nil {
		t.Fatal(err)
	}
	if src.Records != tot.Rows || src.First.IsZero() || src.Last.Before(src.First) {
		t.Errorf("committed %+v, want %d records", src, tot.Rows)
	}
	// The same file from another path; the same content without a digest.
	for _, again := range []SourceInfo{{ID: info.ID, Name: "/copy/a.log.gz", Kind: "file", Digest: info.Digest}, {ID: info.ID, Name: "x"}} {
		if _, err := l.Begin(ctx, again); !errors.Is(err, ErrSourceExists) {
			t.Errorf("Begin(%s) = %v, want ErrSourceExists", again.Name, err)
		}
	}
	if got, plain := flowqRows(t, l), plainRows(t, l.Local()); got != tot.Rows || plain != tot.Rows {
		t.Errorf("after re-ingest flowq counts %d, plain %d; want %d", got, plain, tot.Rows)
	}
	// A corrected re-download: same object name, other content.
	fixed, tot2 := sourceText(t, 6, 150)
	info.Digest = "sha256:two"
	if _, err := ingest(t, l, info, fixed, 64); err != nil {
		t.Fatal(err)
	}
	if got, plain := flowqRows(t, l), plainRows(t, l.Local()); got != tot2.Rows || plain != tot2.Rows {
		t.Errorf("after the corrected copy flowq counts %d, plain %d; want %d", got, plain, tot2.Rows)
	}
	srcs, err := l.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Records != tot2.Rows || srcs[0].Digest != "sha256:two" {
		t.Errorf("sources = %+v", srcs)
	}
	if len(stagedFiles(t, l.Local())) != 0 {
		t.Errorf("staging left behind: %v", stagedFiles(t, l.Local()))
	}
}

// TestSourceInvisibleUntilCommit: chunks staged before Commit are seen by
// no reader; Abort, or a crash before Commit, leaves nothing counted, and
// the next Compact deletes a crashed writer's chunks once they are old.
func TestSourceInvisibleUntilCommit(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := sourceText(t, 7, 300)
	for _, end := range []string{"abort", "crash"} {
		w, err := l.Begin(ctx, SourceInfo{ID: end, Name: end})
		if err != nil {
			t.Fatal(err)
		}
		w.chunk = 50
		for _, r := range recs {
			if err := w.Write(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if len(stagedFiles(t, root)) == 0 {
			t.Fatal("nothing staged: the test does not test")
		}
		for _, p := range stagedFiles(t, root) {
			if strings.HasSuffix(p, ".parquet") {
				t.Errorf("staged under a Parquet name: %s", p)
			}
		}
		if got, plain := flowqRows(t, l), plainRows(t, root); got != 0 || plain != 0 {
			t.Errorf("%s: before Commit flowq counts %d, plain %d", end, got, plain)
		}
		if end == "abort" {
			if err := w.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			if s := stagedFiles(t, root); len(s) != 0 {
				t.Errorf("abort left %v", s)
			}
		}
	}
	// The crashed writer's chunks: kept while young, deleted when stale.
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	staged := stagedFiles(t, root)
	if len(staged) == 0 {
		t.Fatal("young staged chunks deleted")
	}
	old := time.Now().Add(-2 * staleAge)
	for _, p := range staged {
		os.Chtimes(p, old, old)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := stagedFiles(t, root); len(s) != 0 {
		t.Errorf("stale chunks left: %v", s)
	}
	if srcs, _ := l.Sources(ctx); len(srcs) != 0 {
		t.Errorf("sources after abort and crash: %+v", srcs)
	}
}

// TestCommitCrash stops Commit after its record is written and one chunk
// moved: the next Sources (or Begin, or Compact) finishes it, and then
// every reader counts every record once.
func TestCommitCrash(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, tot := sourceText(t, 8, 300)
	w, err := l.Begin(ctx, SourceInfo{ID: "s", Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	w.chunk = 50
	for _, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec := &sourceRecord{Source: w.src, State: stateCommitting, Tx: w.tx, Files: w.files}
	if err := l.putSourceRecord(ctx, rec, true); err != nil {
		t.Fatal(err)
	}
	if err := l.be.move(ctx, w.files[0].Staged, w.files[0].Key); err != nil {
		t.Fatal(err)
	}
	// Crash. Another ingest of the same source is refused and completes it.
	if _, err := l.Begin(ctx, SourceInfo{ID: "s", Name: "again"}); !errors.Is(err, ErrSourceExists) {
		t.Errorf("Begin after a crashed commit: %v", err)
	}
	if got, plain := flowqRows(t, l), plainRows(t, root); got != tot.Rows || plain != tot.Rows {
		t.Errorf("after recovery flowq counts %d, plain %d; want %d", got, plain, tot.Rows)
	}
	srcs, err := l.Sources(ctx)
	if err != nil || len(srcs) != 1 || srcs[0].Records != tot.Rows {
		t.Errorf("sources = %+v, %v", srcs, err)
	}
}

// TestRemoveSourceAfterCompaction removes one source whose records a
// compaction merged with another source's and with Lambda batches: exactly
// its records go, from flowq's count and from plain readers'.
func TestRemoveSourceAfterCompaction(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, totA := sourceText(t, 21, 200)
	b, totB := sourceText(t, 22, 150)
	c, totC := sourceText(t, 23, 100)
	if _, err := ingest(t, l, SourceInfo{ID: "a", Name: "a.log", Kind: "file"}, a, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, l, SourceInfo{ID: "b", Name: "b.log", Kind: "file"}, b, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write(ctx, "group/stream/1", c); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, _ := l.Objects(ctx, nil)
	for _, o := range objs {
		if !o.Compacted {
			t.Fatalf("%s not merged: the test does not test", o.Key)
		}
	}
	srcs, err := l.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range srcs {
		got[s.ID] = s.Records
	}
	if got["a"] != totA.Rows || got["b"] != totB.Rows || got["group/stream/1"] != totC.Rows || len(got) != 3 {
		t.Errorf("sources = %v", got)
	}
	removed, err := l.RemoveSource(ctx, "a")
	if err != nil || removed.Records != totA.Rows {
		t.Fatalf("RemoveSource(a) = %+v, %v; want %d records", removed, err, totA.Rows)
	}
	want := totB.Rows + totC.Rows
	if n, plain := flowqRows(t, l), plainRows(t, root); n != want || plain != want {
		t.Errorf("after rm flowq counts %d, plain %d; want %d", n, plain, want)
	}
	// A Lambda batch is a source too.
	if removed, err := l.RemoveSource(ctx, "group/stream/1"); err != nil || removed.Records != totC.Rows {
		t.Fatalf("RemoveSource(batch) = %+v, %v", removed, err)
	}
	if n, plain := flowqRows(t, l), plainRows(t, root); n != totB.Rows || plain != totB.Rows {
		t.Errorf("after rm of the batch flowq counts %d, plain %d; want %d", n, plain, totB.Rows)
	}
	if _, err := l.RemoveSource(ctx, "a"); !errors.Is(err, ErrNotExist) {
		t.Errorf("second rm: %v, want ErrNotExist", err)
	}
	// Compacting again keeps the count.
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, plain := flowqRows(t, l), plainRows(t, root); n != totB.Rows || plain != totB.Rows {
		t.Errorf("after compaction flowq counts %d, plain %d; want %d", n, plain, totB.Rows)
	}
}

func TestMeta(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.GetMeta(ctx, "inventory/a.json"); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	for _, n := range []string{"inventory/b.json", "inventory/a.json", "other.json"} {
		if err := l.PutMeta(ctx, n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := l.GetMeta(ctx, "inventory/a.json"); string(got) != "inventory/a.json" {
		t.Errorf("GetMeta = %q", got)
	}
	names, err := l.ListMeta(ctx, "inventory/")
	if err != nil || strings.Join(names, ",") != "inventory/a.json,inventory/b.json" {
		t.Errorf("ListMeta = %v, %v", names, err)
	}
	for _, bad := range []string{"", "../x", "/abs", "a/../b", "dir/"} {
		if err := l.PutMeta(ctx, bad, nil); err == nil {
			t.Errorf("PutMeta(%q) accepted", bad)
		}
	}
	athenaFiles(t, root) // nothing in the partitions
	if got := flowqRows(t, l); got != 0 {
		t.Errorf("metadata counted as %d records", got)
	}
}

// TestSourcesS3: the same life of a source against S3 (moto): staging,
// the server-side move at Commit, refusal of a second copy, compaction,
// rm, and nothing but Parquet under the partitions.
func TestSourcesS3(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, "s3://lake/flows", Options{S3: client})
	if err != nil {
		t.Fatal(err)
	}
	a, totA := sourceText(t, 41, 200)
	b, totB := sourceText(t, 42, 100)
	if _, err := ingest(t, l, SourceInfo{ID: "aws:x.log.gz", Name: "s3://in/x.log.gz", Kind: "s3"}, a, 64); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, l, SourceInfo{ID: "aws:x.log.gz", Name: "./x.log.gz"}, a, 0); !errors.Is(err, ErrSourceExists) {
		t.Errorf("second copy: %v", err)
	}
	if _, err := l.Write(ctx, "g/s/1", b); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := flowqRows(t, l); got != totA.Rows+totB.Rows {
		t.Errorf("flowq counts %d, want %d", got, totA.Rows+totB.Rows)
	}
	if s, err := l.RemoveSource(ctx, "aws:x.log.gz"); err != nil || s.Records != totA.Rows {
		t.Errorf("rm = %+v, %v", s, err)
	}
	// The plain view of the bucket: every key under a partition is Parquet,
	// and their rows are the lake's.
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("flows/year=")})
	if err != nil {
		t.Fatal(err)
	}
	var plain int64
	for _, o := range out.Contents {
		k := aws.ToString(o.Key)
		if !strings.HasSuffix(k, ".parquet") {
			t.Errorf("%s in a partition", k)
			continue
		}
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		ReadParquet(ctx, bytes.NewReader(data), nil, func(rec arrow.RecordBatch) error { plain += rec.NumRows(); return nil })
	}
	if got := flowqRows(t, l); got != totB.Rows || plain != totB.Rows {
		t.Errorf("after rm flowq counts %d, plain %d; want %d", got, plain, totB.Rows)
	}
	if srcs, err := l.Sources(ctx); err != nil || len(srcs) != 1 || srcs[0].ID != "g/s/1" {
		t.Errorf("sources = %+v, %v", srcs, err)
	}
	// Sources reads only the tail of a large object (one ranged GET), and
	// reads before the tail fetch their own range.
	bigText := hourText(40000)
	big := parseText(t, nil, bigText, 4096)
	defer release(big)
	totBig := int64(40000)
	res, err := l.Write(ctx, "g/s/big", big)
	if err != nil {
		t.Fatal(err)
	}
	be := l.be.(*s3Backend)
	var large Object
	objs, _ := l.Objects(ctx, nil)
	for _, o := range objs {
		if o.Size > max(tailBytes, large.Size) {
			large = o
		}
	}
	if large.Key == "" {
		t.Fatalf("no object over %d bytes among %v: the test does not test", tailBytes, res.Objects)
	}
	whole, _ := be.get(ctx, large.Key)
	tr, err := be.openTail(ctx, large.Key, large.Size)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 100, large.Size - tailBytes - 10, large.Size - 8} {
		buf := make([]byte, 8)
		if n, err := tr.ReadAt(buf, off); n != 8 || err != nil || !bytes.Equal(buf, whole[off:off+8]) {
			t.Errorf("ReadAt(%d) = %d, %v", off, n, err)
		}
	}
	srcs, err := l.Sources(ctx)
	var n int64
	for _, s := range srcs {
		if s.ID == "g/s/big" {
			n = s.Records
		}
	}
	if err != nil || n != totBig {
		t.Errorf("big batch: %d records in sources (%v), want %d", n, err, totBig)
	}
}
