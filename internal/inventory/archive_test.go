package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// memMeta is a MetaStore in memory that counts reads, writes and
// listings; failPut, when set, fails the writes it returns an error for.
type memMeta struct {
	mu                 sync.Mutex
	objs               map[string][]byte
	reads, puts, lists int
	failPut            func(name string) error
	slow               time.Duration // each read's latency
}

func newMemMeta() *memMeta { return &memMeta{objs: map[string][]byte{}} }

func (m *memMeta) PutMeta(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		if err := m.failPut(name); err != nil {
			return err
		}
	}
	m.puts++
	m.objs[name] = data
	return nil
}

func (m *memMeta) GetMeta(_ context.Context, name string) ([]byte, error) {
	time.Sleep(m.slow)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	d, ok := m.objs[name]
	if !ok {
		return nil, fmt.Errorf("%s: not found", name)
	}
	return d, nil
}

func (m *memMeta) ListMeta(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	var out []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}

// TestArchiveAsOf: a flow is judged by the configuration of its own time.
// An interface that existed only between two syncs resolves only then.
func TestArchiveAsOf(t *testing.T) {
	ctx := context.Background()
	meta := newMemMeta()
	meta.objs["inventory/README"] = []byte("not a snapshot") // ignored
	a, err := inventory.OpenArchive(ctx, meta, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AsOf(ctx, time.Time{}); !errors.Is(err, inventory.ErrNoSnapshot) {
		t.Fatalf("empty archive: %v, want ErrNoSnapshot", err)
	}
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	snap := func(at time.Time, eni string) *inventory.Snapshot {
		return &inventory.Snapshot{Version: 1, Taken: at, Interfaces: []inventory.Interface{{ID: eni, Type: "lambda", PrivateIPs: []string{"10.0.11.7"}}}}
	}
	// Saved out of order: the archive sorts by time, not by save order.
	for _, s := range []*inventory.Snapshot{snap(t0.Add(2*time.Hour), "eni-c"), snap(t0, "eni-a"), snap(t0.Add(time.Hour), "eni-b")} {
		if _, err := a.Save(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"before the first: the first", t0.Add(-time.Hour), "eni-a"},
		{"exactly at a sync", t0.Add(time.Hour), "eni-b"},
		{"between syncs: the earlier", t0.Add(90 * time.Minute), "eni-b"},
		{"after the last", t0.Add(48 * time.Hour), "eni-c"},
		{"zero: the newest", time.Time{}, "eni-c"},
		{"first again, from storage after eviction", t0.Add(time.Minute), "eni-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := a.AsOf(ctx, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			got := x.InterfaceByAddr(mustAddr("10.0.11.7"))
			if got == nil || got.ID != tc.want {
				t.Errorf("as of %v: %+v, want %s", tc.at, got, tc.want)
			}
		})
	}
	if got := len(a.Times()); got != 3 {
		t.Errorf("times: %d, want 3", got)
	}
	// Cached: asking again for the newest reads nothing.
	before := meta.reads
	if _, err := a.AsOf(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if meta.reads != before {
		t.Errorf("cached snapshot read again (%d reads)", meta.reads-before)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"not json", "{", "snapshot s1: unexpected end of JSON input"},
		{"newer version", `{"version": 99}`, "snapshot s1: version 99"},
		{"no version", `{}`, "snapshot s1: version 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inventory.Decode("s1", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestAsOfReadsOnce: callers asking at once for a snapshot not yet in
// memory share one read (the collector's detectors did two each run).
func TestAsOfReadsOnce(t *testing.T) {
	ctx := context.Background()
	meta := newMemMeta()
	a, _ := inventory.OpenArchive(ctx, meta, 1)
	if _, err := a.Save(ctx, inventory.DemoSnapshot(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	meta.reads, meta.slow = 0, 20*time.Millisecond
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if x, err := a.AsOf(ctx, time.Time{}); err != nil || x == nil {
				t.Errorf("AsOf: %v", err)
			}
		})
	}
	wg.Wait()
	if meta.reads != 1 {
		t.Errorf("%d reads of the snapshot, want 1", meta.reads)
	}
}
