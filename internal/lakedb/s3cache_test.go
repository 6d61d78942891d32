package lakedb_test

import (
	"context"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// countingClient counts the GETs of Parquet objects that pass through it.
type countingClient struct {
	mu   sync.Mutex
	gets map[string]int
	next aws.HTTPClient
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".parquet") {
		c.mu.Lock()
		c.gets[r.URL.Path]++
		c.mu.Unlock()
	}
	return c.next.Do(r)
}

func (c *countingClient) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.gets {
		n += v
	}
	return n
}

// TestS3Cache: over an s3:// lake, the first session downloads the objects
// in range, the second downloads nothing, a new object is the only
// download of the third, and each session counts the same records as the
// local lake would.
func TestS3Cache(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	counter := &countingClient{gets: map[string]int{}, next: http.DefaultClient}
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) {
		o.UsePathStyle = true
		o.HTTPClient = counter
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("flows")}); err != nil {
		t.Fatal(err)
	}
	lake, err := store.Open(ctx, "s3://flows/lake", store.Options{S3: client})
	if err != nil {
		t.Fatal(err)
	}
	addBatch(t, lake, "b0", v2Text)
	addBatch(t, lake, "b1", v5Text)
	opts := lakedb.Options{CacheDir: t.TempDir(), S3: client}
	session := func(want int) lakedb.Stats {
		t.Helper()
		d, err := lakedb.Open(ctx, lake, store.TimeRange{}, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var n int
		if err := d.SQL().QueryRow("SELECT count(*) FROM flows").Scan(&n); err != nil || n != want {
			t.Errorf("count = %d, %v; want %d", n, err, want)
		}
		return d.Stats()
	}
	before := counter.total()
	st := session(5)
	if got := counter.total() - before; got != st.Files || st.Downloaded != st.Files || st.Files == 0 {
		t.Errorf("first session: %d GETs, stats %+v; want one GET per file", got, st)
	}
	before = counter.total()
	st = session(5)
	if got := counter.total() - before; got != 0 || st.Downloaded != 0 || st.Cached != st.Files {
		t.Errorf("second session: %d GETs, stats %+v; want none", got, st)
	}
	addBatch(t, lake, "b2", strings.ReplaceAll(v5Text, "1795165", "1795185"))
	before = counter.total()
	st = session(7)
	if got := counter.total() - before; got != 1 || st.Downloaded != 1 {
		t.Errorf("after one new object: %d GETs, stats %+v; want 1", got, st)
	}
	// Objects the lake no longer holds leave the cache too.
	cached := func() int {
		n := 0
		filepath.WalkDir(opts.CacheDir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
				n++
			}
			return nil
		})
		return n
	}
	if n := cached(); n != st.Files {
		t.Fatalf("%d files cached, want %d", n, st.Files)
	}
	objs, err := lake.Objects(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("flows"), Key: aws.String("lake/" + objs[0].Key)}); err != nil {
		t.Fatal(err)
	}
	st = session(7 - countIn(t, objs[0]))
	if n := cached(); n != st.Files {
		t.Errorf("after removing an object: %d files cached, want %d", n, st.Files)
	}
}

// countIn counts the records of one of the test's objects.
func countIn(t *testing.T, o store.Object) int {
	t.Helper()
	switch {
	case strings.Contains(o.Key, "hour=08"):
		return 3
	default:
		return 2
	}
}
