package resolve_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
)

// meta is a MetaStore in memory that can be made to fail.
type meta struct {
	mu   sync.Mutex
	objs map[string][]byte
	fail bool
}

func (m *meta) PutMeta(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[name] = data
	return nil
}

func (m *meta) GetMeta(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objs[name], nil
}

func (m *meta) ListMeta(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, errors.New("access denied")
	}
	var out []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}

// TestOpenLazyRefresh: the lake's snapshots are read on first use, a
// failure degrades to no names, and a later sync is seen after Refresh.
func TestOpenLazyRefresh(t *testing.T) {
	m := &meta{objs: map[string][]byte{}, fail: true}
	r := resolve.Open(m, 0, resolve.Options{Refresh: time.Millisecond})
	if got := r.Resolve("", "10.0.21.100", time.Unix(0, 0)); got != nil {
		t.Fatalf("unreadable lake: %+v", got)
	}
	m.mu.Lock()
	m.fail = false
	m.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	if got := r.Resolve("", "10.0.21.100", time.Unix(0, 0)); got != nil {
		t.Fatalf("no snapshot yet: %+v", got)
	}
	data, err := inventory.Encode(inventory.DemoSnapshot(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	m.PutMeta(context.Background(), inventory.MetaName(time.Unix(0, 0)), data)
	time.Sleep(2 * time.Millisecond)
	if got := r.Resolve("", "10.0.21.100", time.Unix(0, 0)); got == nil || got.Name != "tradai-postgres" {
		t.Fatalf("after a sync: %+v", got)
	}
}
