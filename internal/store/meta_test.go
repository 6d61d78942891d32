package store

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestPutMetaIf: a conditional metadata write succeeds for the version
// read and fails with ErrConflict, leaving the other writer's object, for
// a stale version, for "none" when one exists and for a version of an
// object removed since; in a directory and on S3 (moto_server, whose
// If-Match and If-None-Match are S3's).
func TestPutMetaIf(t *testing.T) {
	ctx := context.Background()
	local, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := motoserver.Start(t)
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	remote, err := Open(ctx, "s3://lake/flows", Options{S3: client})
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*Lake{"directory": local, "s3": remote} {
		t.Run(name, func(t *testing.T) {
			const key = "collect/checkpoint"
			v1, err := l.PutMetaIf(ctx, key, []byte("first"), "")
			if err != nil || v1 == "" {
				t.Fatalf("first write: %q, %v", v1, err)
			}
			if _, err := l.PutMetaIf(ctx, key, []byte("again"), ""); !errors.Is(err, ErrConflict) {
				t.Errorf("write over an existing object as if none: %v, want ErrConflict", err)
			}
			data, v, err := l.GetMetaVersion(ctx, key)
			if err != nil || string(data) != "first" || v != v1 {
				t.Fatalf("read %q version %q, %v; want first, %q", data, v, err, v1)
			}
			// Two writers read v1; the second to write loses.
			v2, err := l.PutMetaIf(ctx, key, []byte("writer A"), v1)
			if err != nil || v2 == v1 {
				t.Fatalf("writer A: %q, %v", v2, err)
			}
			if _, err := l.PutMetaIf(ctx, key, []byte("writer B"), v1); !errors.Is(err, ErrConflict) {
				t.Errorf("writer B with a stale version: %v, want ErrConflict", err)
			}
			if data, _, _ := l.GetMetaVersion(ctx, key); string(data) != "writer A" {
				t.Errorf("object %q after the lost race, want writer A's", data)
			}
			if err := l.be.remove(ctx, []string{userMetaDir + key}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.PutMetaIf(ctx, key, []byte("late"), v2); !errors.Is(err, ErrConflict) {
				t.Errorf("write for a version removed since: %v, want ErrConflict", err)
			}
			if _, _, err := l.GetMetaVersion(ctx, "collect/none"); !errors.Is(err, ErrNotExist) {
				t.Errorf("missing: %v, want ErrNotExist", err)
			}
		})
	}
}
