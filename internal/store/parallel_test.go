package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestParallelSources: distinct sources committed at the same time into one
// local lake all succeed. One source's cleanup prunes the staging directory
// that another is creating its own under; a writer must create it again
// instead of failing with "no such file or directory".
func TestParallelSources(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{ChunkRows: 16})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	const rounds, writers = 4, 6
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			batches, tot := sourceText(t, uint64(1000*r+w+1), 40)
			want += tot.Rows
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("src-%d-%d", r, w)
				_, err := ingest(t, l, SourceInfo{ID: id, Name: id}, batches, 16)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	if got, plain := flowqRows(t, l), plainRows(t, root); got != want || plain != want {
		t.Errorf("flowq counts %d, plain %d; want %d", got, plain, want)
	}
}

// TestPutBesidePrune: puts under a directory that another writer's remove
// keeps pruning all succeed (os.MkdirAll alone fails now and then with
// "no such file or directory" when the parent goes between its steps).
func TestPutBesidePrune(t *testing.T) {
	ctx := context.Background()
	b, err := newLocalBackend(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // another source: write, then remove and prune its own directory
		defer wg.Done()
		for i := range n {
			k := fmt.Sprintf("_flowq/staging/other/%d.staged", i)
			if err := b.put(ctx, k, []byte("x"), false); err == nil {
				b.remove(ctx, []string{k})
			}
		}
	}()
	errs := 0
	go func() {
		defer wg.Done()
		for i := range n {
			k := fmt.Sprintf("_flowq/staging/tx%d/0001.staged", i)
			if err := b.put(ctx, k, []byte("x"), false); err != nil {
				errs++
				if errs < 3 {
					t.Error(err)
				}
				continue
			}
			b.remove(ctx, []string{k})
		}
	}()
	wg.Wait()
	if errs > 0 {
		t.Errorf("%d of %d puts failed", errs, n)
	}
}
