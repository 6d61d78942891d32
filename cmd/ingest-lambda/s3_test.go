package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/parse"
)

// s3Event builds the notification S3 sends for new objects.
func s3Event(t *testing.T, bucket string, objs ...*s3.PutObjectOutput) []byte {
	t.Helper()
	var ev events.S3Event
	for i, o := range objs {
		key := keys[i]
		ev.Records = append(ev.Records, events.S3EventRecord{EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "us-east-1",
			EventName: "ObjectCreated:Put", S3: events.S3Entity{SchemaVersion: "1.0", Bucket: events.S3Bucket{Name: bucket, Arn: "arn:aws:s3:::" + bucket},
				Object: events.S3Object{Key: strings.ReplaceAll(key, "/", "%2F"), ETag: strings.Trim(aws.ToString(o.ETag), `"`), VersionID: aws.ToString(o.VersionId)}}})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var keys []string

// TestS3Objects: flow-log files AWS delivers to S3 (text .log.gz with its
// header line, and Parquet) take the same pipeline; a second notification
// of the same objects changes nothing.
func TestS3Objects(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	const src = "flow-log-delivery"
	if _, err := f.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(src)}); err != nil {
		t.Fatal(err)
	}
	fm := parse.MustParseFormat(seedFormat)
	text, _ := traffic(20000)
	// Bigger than one chunk would take too long here; two files instead,
	// one with the header line AWS writes, as text.
	half := bytes.IndexByte(text[len(text)/2:], '\n') + len(text)/2 + 1
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(fm.Header() + "\n"))
	zw.Write(text[:half])
	zw.Close()

	// The second half as Parquet, as AWS delivers with FileFormat=parquet:
	// one file, written with pqarrow's defaults.
	r := parse.NewBytesReader(text[half:], parse.Options{Format: fm, BatchSize: 1 << 20})
	if !r.Next() {
		t.Fatal("no records")
	}
	var pqBuf bytes.Buffer
	w, err := pqarrow.NewFileWriter(r.RecordBatch().Schema(), &pqBuf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(r.RecordBatch()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r.Release()
	pq := pqBuf.Bytes()

	keys = []string{
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T1400Z_hash.log.gz",
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T1400Z_hash.parquet",
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/README.txt.md",
	}
	var outs []*s3.PutObjectOutput
	for i, body := range [][]byte{gz.Bytes(), pq, []byte("not a flow log")} {
		o, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String(keys[i]), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, o)
	}
	event := s3Event(t, src, outs...)
	s, err := f.invoke(t, event)
	if err != nil {
		t.Fatal(err)
	}
	want := textRows(t, text)
	if s.Input != inputS3 || s.Records != int64(len(want)) || s.BadLines != 0 || s.Skipped != 1 || s.Batches != 2 {
		t.Errorf("summary %+v, want %d records in 2 objects and 1 object skipped", s, len(want))
	}
	got, objects := f.lakeRows(t)
	if diff := slicesDiff(got, want); diff != "" {
		t.Errorf("records in the lake differ from the files' records: %s", diff)
	}
	// The summary (and so the ParquetObjects/ParquetBytes metrics) counts
	// what the objects' commits wrote: it said 0 on the S3 path.
	if s.Objects != len(objects) || s.LakeBytes <= 0 {
		t.Errorf("summary says %d objects of %d bytes; the lake holds %d objects", s.Objects, s.LakeBytes, len(objects))
	}
	if _, err := f.invoke(t, event); err != nil {
		t.Fatal(err)
	}
	got2, objects2 := f.lakeRows(t)
	if !slices.Equal(got2, got) || len(objects2) != len(objects) {
		t.Errorf("a repeated notification changed the lake: %d → %d objects", len(objects), len(objects2))
	}

	// A missing object is an error: Lambda retries, then the on-failure
	// destination gets the event.
	keys = []string{"AWSLogs/gone.log.gz"}
	if _, err := f.invoke(t, s3Event(t, src, &s3.PutObjectOutput{ETag: aws.String(`"abc"`)})); err == nil {
		t.Error("a missing object did not fail the invocation")
	}
}

func slicesDiff(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("%d rows, want %d", len(got), len(want))
}

// TestS3ObjectsOnce: an AWS object copied to another key (a replication or
// sync target that also notifies) is stored once; an object that is not
// flow logs is logged and skipped without failing the event (a retry could
// not help); a gzip cut short fails it (Lambda retries, then the
// on-failure destination).
func TestS3ObjectsOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	const src = "flow-log-delivery"
	if _, err := f.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(src)}); err != nil {
		t.Fatal(err)
	}
	fm := parse.MustParseFormat(seedFormat)
	text, _ := traffic(2000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(fm.Header() + "\n"))
	zw.Write(text)
	zw.Close()
	name := "123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T1400Z_1a2b3c4d.log.gz"
	var binary bytes.Buffer
	zw = gzip.NewWriter(&binary)
	zw.Write([]byte{0, 1, 2, 3, 0, 0xff})
	zw.Close()
	keys = []string{
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/" + name,
		"replica/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/" + name,
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/garbage.log.gz",
	}
	var outs []*s3.PutObjectOutput
	for i, body := range [][]byte{gz.Bytes(), gz.Bytes(), binary.Bytes()} {
		o, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String(keys[i]), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, o)
	}
	s, err := f.invoke(t, s3Event(t, src, outs...))
	if err != nil {
		t.Fatal(err)
	}
	want := textRows(t, text)
	if s.Records != int64(len(want)) || s.Batches != 1 || s.Skipped != 2 {
		t.Errorf("summary %+v, want %d records from 1 object, 2 skipped (the copy, the garbage)", s, len(want))
	}
	if got, _ := f.lakeRows(t); len(got) != len(want) {
		t.Errorf("lake holds %d records, want %d", len(got), len(want))
	}

	keys = []string{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T1405Z_99.log.gz"}
	o, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String(keys[0]), Body: bytes.NewReader(gz.Bytes()[:gz.Len()-8])})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.invoke(t, s3Event(t, src, o)); err == nil || !strings.Contains(err.Error(), "gzip stream cut short") {
		t.Errorf("a truncated object: err = %v", err)
	}
	if got, _ := f.lakeRows(t); len(got) != len(want) {
		t.Errorf("after the truncated object the lake holds %d records, want %d", len(got), len(want))
	}
}
