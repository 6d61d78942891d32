package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/testutil/motoserver"
)

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
	// A retry of the merged batch finds its markers and keeps nothing.
	if res, err := l.Write(ctx, "g/s/1", b); err != nil || len(res.Objects) != 0 || res.Merged == 0 {
		t.Errorf("retry of a merged batch: %+v, %v", res, err)
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
