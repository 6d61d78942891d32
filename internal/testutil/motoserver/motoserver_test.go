package motoserver

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestStartServesS3(t *testing.T) {
	s := Start(t)
	c := s3.NewFromConfig(s.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("probe")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	if len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "probe" {
		t.Fatalf("buckets = %+v, want [probe]", out.Buckets)
	}
}

// TestStartConcurrently: servers started at the same moment get their own
// ports and their own state (a bucket made in one is absent from the others).
func TestStartConcurrently(t *testing.T) {
	const n = 4
	servers := make([]*Server, n)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i] = Start(t)
		}()
	}
	wg.Wait()
	ctx := context.Background()
	seen := map[string]bool{}
	for i, s := range servers {
		if seen[s.Endpoint] {
			t.Fatalf("two servers share %s", s.Endpoint)
		}
		seen[s.Endpoint] = true
		c := s3.NewFromConfig(s.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fmt.Sprintf("only-in-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range servers {
		c := s3.NewFromConfig(s.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
		out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != fmt.Sprintf("only-in-%d", i) {
			t.Errorf("server %d sees %d buckets: %+v", i, len(out.Buckets), out.Buckets)
		}
	}
}
