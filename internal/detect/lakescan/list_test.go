package lakescan

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/testutil/awscost"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestRunListsOnce: over an s3:// lake of 8 hour partitions, Run lists the
// lake once (its partitions and its compaction manifests: two LIST
// requests), not once more per partition, and the detectors see every
// record once. The old code listed it 9 times (18 LIST requests).
func TestRunListsOnce(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	cnt := awscost.NewCounter()
	cfg := srv.Config(t)
	cfg.APIOptions = append(cfg.APIOptions, cnt.Middleware)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	lake, err := store.Open(ctx, "s3://lake/flows", store.Options{S3: client})
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for h := range 8 {
		text, starts := hourText(h, 30)
		want = append(want, starts...)
		recs, err := parse.NewBytesReader([]byte(text), parse.Options{}).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lake.Write(ctx, fmt.Sprint("h", h), recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			r.Release()
		}
	}
	clear(cnt.N)
	r := &recorder{}
	send := func(context.Context, []detect.Alert) error { return nil }
	if _, err := Run(ctx, lake, store.TimeRange{}, r, send, Options{Workers: 3}); err != nil {
		t.Fatal(err)
	}
	if n := cnt.N["S3 ListObjectsV2"]; n != 2 {
		t.Errorf("%d LIST requests to scan 8 partitions, want 2 (one listing): %v", n, cnt.N)
	}
	got := slices.Clone(r.starts)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("detectors saw %d records, want the %d written, once each", len(got), len(want))
	}
}
