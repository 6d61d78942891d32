package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestS3Lake drives ingest, query and compact against an s3:// lake on
// moto_server. The SDK reads the endpoint from AWS_ENDPOINT_URL, as it would
// for a real user.
func TestS3Lake(t *testing.T) {
	srv := motoserver.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("flows")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache")) // the ETag cache of queries, not the user's
	text := synth.Text(9, parse.DefaultFormat(), day, 2000, true)
	p := writeFile(t, dir, "a.log", text)
	lake := "s3://flows/lake"
	for range 2 { // idempotent
		if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 {
			t.Fatalf("ingest: %s%s", out, errb)
		}
	}
	want := textSums(text)
	if diff := cmp.Diff(lakeSums(t, lake), want); diff != "" {
		t.Errorf("s3 lake (-got +want):\n%s", diff)
	}
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "compact"); code != 0 {
		t.Fatalf("compact: %s%s", out, errb)
	}
	if diff := cmp.Diff(lakeSums(t, lake, "--since", "2026-11-20T00:00:00Z"), want); diff != "" {
		t.Errorf("s3 lake after compact (-got +want):\n%s", diff)
	}
	code, _, errb := runCLI(t, "", nil, "--lake", "s3://flows/empty", "run", "top-talkers")
	if code != exitRejected || !strings.Contains(errb, "the lake is empty") {
		t.Errorf("empty s3 lake: exit %d: %s", code, errb)
	}
}
