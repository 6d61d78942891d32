package lakedb_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
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

// sums is what a query of the whole flows view must find.
type sums struct{ Rows, Bytes int64 }

// raceText returns n v2 records of hour h (8 or 9) of batch i, every one
// with its own bytes value, and their sums, computed here, not parsed.
func raceText(i, h, n int) (string, sums) {
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	var s sums
	for j := range n {
		start := 1795161600 + int64(h-8)*3600 + int64(j)*60
		bytes := int64(1000*i + j + 1)
		fmt.Fprintf(&b, "2 123456789010 eni-1235b8ca123456789 172.31.16.%d 172.31.16.21 20641 22 6 20 %d %d %d ACCEPT OK\n", i, bytes, start, start+60)
		s.Rows++
		s.Bytes += bytes
	}
	return b.String(), s
}

// fillRaceLake writes, in hours 8 and 9, two batches, compacts, then two
// more: each partition holds a merged file and two batch files, so the
// next compaction merges a merged file again.
func fillRaceLake(t *testing.T, lake *store.Lake) sums {
	t.Helper()
	var want sums
	for i := range 4 {
		if i == 2 {
			if _, err := lake.Compact(context.Background(), store.CompactOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range []int{8, 9} {
			text, s := raceText(i, h, 10+i)
			addBatch(t, lake, fmt.Sprint("race-", i, "-", h), text)
			want.Rows += s.Rows
			want.Bytes += s.Bytes
		}
	}
	return want
}

func querySums(d *lakedb.DB) (sums, error) {
	var s sums
	err := d.SQL().QueryRow("SELECT count(*), sum(bytes)::BIGINT FROM flows").Scan(&s.Rows, &s.Bytes)
	return s, err
}

// compactOnce returns a function that compacts the lake the first time
// it is called; calls at the same time (downloads) wait for it.
func compactOnce(t *testing.T, lake *store.Lake) func() error {
	var once sync.Once
	return func() (err error) {
		once.Do(func() {
			var res store.CompactResult
			res, err = lake.Compact(context.Background(), store.CompactOptions{})
			if err == nil && res.Merged != 6 {
				t.Errorf("the compaction merged %d files, want 6", res.Merged)
			}
		})
		return err
	}
}

// raceLakes returns a new local lake and a new s3:// one (moto) with the
// options that read it.
func raceLakes(t *testing.T) map[string]func(t *testing.T) (*store.Lake, lakedb.Options) {
	return map[string]func(t *testing.T) (*store.Lake, lakedb.Options){
		"local": func(t *testing.T) (*store.Lake, lakedb.Options) {
			lake, err := store.Open(context.Background(), t.TempDir(), store.Options{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			return lake, lakedb.Options{}
		},
		"s3": func(t *testing.T) (*store.Lake, lakedb.Options) {
			_, client, lake := s3Lake(t)
			return lake, lakedb.Options{CacheDir: t.TempDir(), S3: client}
		},
	}
}

// s3Lake starts moto and returns it, a client of it and an empty lake at
// s3://flows/lake.
func s3Lake(t *testing.T) (*motoserver.Server, *s3.Client, *store.Lake) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("flows")}); err != nil {
		t.Fatal(err)
	}
	lake, err := store.Open(ctx, "s3://flows/lake", store.Options{S3: client})
	if err != nil {
		t.Fatal(err)
	}
	return srv, client, lake
}

// TestOpenAcrossCompaction: a compaction that deletes the objects Open
// listed, before Open makes them local, makes Open list again; the view
// counts every record once (rows and bytes against the text). Old code
// (with the hook) failed in Open: DuckDB's "No files found" reading a
// local lake's schemas, "does not exist" downloading an s3:// lake's.
func TestOpenAcrossCompaction(t *testing.T) {
	for name, newLake := range raceLakes(t) {
		t.Run(name, func(t *testing.T) {
			lake, opts := newLake(t)
			want := fillRaceLake(t, lake)
			compact := compactOnce(t, lake)
			d, err := lakedb.Open(context.Background(), lake, store.TimeRange{}, lakedb.WithListed(opts, func([]store.Object) error { return compact() }))
			if err != nil {
				t.Fatalf("open across a compaction: %v", err)
			}
			defer d.Close()
			if got, err := querySums(d); err != nil || got != want {
				t.Errorf("query after a compaction during Open: %+v, %v; want %+v", got, err, want)
			}
			if st := d.Stats(); st.Files != 2 {
				t.Errorf("the view reads %d files, want the 2 merged ones", st.Files)
			}
		})
	}
}

// TestSessionOutlivesCompaction: a session opened before a compaction
// (and, for an s3:// lake, before another session whose cache pruning
// removes the compacted objects' copies) still queries every record once.
// Old code: DuckDB failed to open the deleted files.
func TestSessionOutlivesCompaction(t *testing.T) {
	ctx := context.Background()
	for name, newLake := range raceLakes(t) {
		t.Run(name, func(t *testing.T) {
			lake, opts := newLake(t)
			want := fillRaceLake(t, lake)
			d, err := lakedb.Open(ctx, lake, store.TimeRange{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got, err := querySums(d); err != nil || got != want {
				t.Fatalf("first query: %+v, %v; want %+v", got, err, want)
			}
			if err := compactOnce(t, lake)(); err != nil {
				t.Fatal(err)
			}
			later, err := lakedb.Open(ctx, lake, store.TimeRange{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := querySums(later); err != nil || got != want {
				t.Errorf("a session opened after the compaction: %+v, %v; want %+v", got, err, want)
			}
			later.Close()
			if got, err := querySums(d); err != nil || got != want {
				t.Errorf("the session opened before the compaction: %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

// TestOpenGivesUp: when every listing's objects are gone before Open
// links them, Open stops after store.MaxListings listings with an error
// wrapping store.ErrLakeChanging, and leaves no session directory.
func TestOpenGivesUp(t *testing.T) {
	ctx := context.Background()
	lake := writeLake(t, v2Text)
	listings := 0
	opts := lakedb.WithListed(lakedb.Options{}, func(objs []store.Object) error {
		listings++
		for _, o := range objs { // merged away, as it were, each time…
			if err := os.Remove(filepath.Join(lake.Local(), filepath.FromSlash(o.Key))); err != nil {
				return err
			}
		}
		addBatch(t, lake, fmt.Sprint("new-", listings), v2Text) // …and a new one arrives
		return nil
	})
	_, err := lakedb.Open(ctx, lake, store.TimeRange{}, opts)
	if !errors.Is(err, store.ErrLakeChanging) || listings != store.MaxListings {
		t.Errorf("after %d listings: %v; want ErrLakeChanging after %d", listings, err, store.MaxListings)
	}
	if ents, _ := os.ReadDir(lake.SessionsDir()); len(ents) != 0 {
		t.Errorf("%d session directories left", len(ents))
	}
}

// TestSessionDirectory: a session's links are under the lake's sessions
// directory while it is open and gone after Close, and a session
// directory whose process is gone is removed by the next Open.
func TestSessionDirectory(t *testing.T) {
	ctx := context.Background()
	lake := writeLake(t, v2Text, v5Text)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	stale := filepath.Join(lake.SessionsDir(), fmt.Sprint(dead.Process.Pid, "-0123456789ab"))
	if err := os.MkdirAll(filepath.Join(stale, "year=2026"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := lakedb.Open(ctx, lake, store.TimeRange{}, lakedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead process's session directory: %v, want it removed", err)
	}
	ents, _ := os.ReadDir(lake.SessionsDir())
	if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), fmt.Sprint(os.Getpid(), "-")) {
		t.Errorf("session directories %v, want this session's", ents)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(lake.SessionsDir()); len(ents) != 0 {
		t.Errorf("%d session directories left after Close", len(ents))
	}
	if objs, _ := lake.Objects(ctx, nil); len(objs) != 2 {
		t.Errorf("the lake lists %d objects, want its 2", len(objs))
	}
}

// TestQueryWhileCompacting races a real compaction, partition after
// partition, against sessions opened and queried meanwhile (no hooks:
// whatever the interleaving): each counts every record once, also when
// queried again after the compaction. Run it with -race.
func TestQueryWhileCompacting(t *testing.T) {
	ctx := context.Background()
	lake, err := store.Open(ctx, t.TempDir(), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var want sums
	var parts []store.Partition
	for h := 8; h < 16; h++ {
		for i := range 3 {
			text, s := raceText(i, h, 5+i)
			addBatch(t, lake, fmt.Sprint("race-", i, "-", h), text)
			want.Rows += s.Rows
			want.Bytes += s.Bytes
		}
		parts = append(parts, store.PartitionOf(1795161600+int64(h-8)*3600))
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for _, p := range parts {
			if _, err = lake.Compact(ctx, store.CompactOptions{Filter: func(q store.Partition) bool { return q == p }}); err != nil {
				break
			}
		}
		done <- err
	}()
	var sessions []*lakedb.DB
	for range 4 {
		d, err := lakedb.Open(ctx, lake, store.TimeRange{}, lakedb.Options{})
		if err != nil {
			t.Fatalf("open while compacting: %v", err)
		}
		defer d.Close()
		if got, err := querySums(d); err != nil || got != want {
			t.Errorf("query while compacting: %+v, %v; want %+v", got, err, want)
		}
		sessions = append(sessions, d)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, d := range sessions {
		if got, err := querySums(d); err != nil || got != want {
			t.Errorf("session %d after the compaction: %+v, %v; want %+v", i, got, err, want)
		}
	}
	if objs, _ := lake.Objects(ctx, nil); len(objs) != len(parts) {
		t.Errorf("%d objects after the compaction, want one per partition (%d)", len(objs), len(parts))
	}
}

// compactingClient runs compact before the first GET of a Parquet object
// that passes through it: the object Open listed, and found in its ETag
// listing, is gone when it downloads it.
type compactingClient struct {
	next    aws.HTTPClient
	compact func() error
}

func (c *compactingClient) Do(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".parquet") {
		if err := c.compact(); err != nil {
			return nil, err
		}
	}
	return c.next.Do(r)
}

// TestOpenS3ObjectGoneAtDownload: an s3:// lake's object deleted by a
// compaction between Open's listings and its download (S3's NoSuchKey)
// makes Open list again; the view counts every record once. Old code
// failed: "get s3://…: NoSuchKey".
func TestOpenS3ObjectGoneAtDownload(t *testing.T) {
	ctx := context.Background()
	srv, _, lake := s3Lake(t)
	want := fillRaceLake(t, lake)
	reader := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) {
		o.UsePathStyle = true
		o.HTTPClient = &compactingClient{next: http.DefaultClient, compact: compactOnce(t, lake)}
	})
	d, err := lakedb.Open(ctx, lake, store.TimeRange{}, lakedb.Options{CacheDir: t.TempDir(), S3: reader})
	if err != nil {
		t.Fatalf("open across a compaction: %v", err)
	}
	defer d.Close()
	if got, err := querySums(d); err != nil || got != want {
		t.Errorf("query: %+v, %v; want %+v", got, err, want)
	}
}
