package resolve_test

import (
	"context"
	"errors"
	"math"
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

// TestRulesSpan: the rules of the lake's snapshots come with the whole
// seconds they are in force for — the first from the beginning of time, each
// until the next one's time rounded up (a record at a whole second is judged
// by a snapshot taken during that second only from the next) — so the
// policy detector's verdicts hold exactly over a span.
func TestRulesSpan(t *testing.T) {
	m := &meta{objs: map[string][]byte{}}
	t1, t2 := day.Add(6*time.Hour+500*time.Millisecond), day.Add(12*time.Hour)
	for _, at := range []time.Time{day, t1, t2} {
		data, err := inventory.Encode(inventory.DemoSnapshot(at))
		if err != nil {
			t.Fatal(err)
		}
		m.PutMeta(context.Background(), inventory.MetaName(at), data)
	}
	r := resolve.Open(m, 0, resolve.Options{})
	s1 := t1.Unix() + 1 // the first whole second at or after t1
	for _, tc := range []struct {
		at, from, until int64
	}{
		{day.Unix() - 3600, math.MinInt64, s1},
		{day.Unix(), math.MinInt64, s1},
		{t1.Unix(), math.MinInt64, s1},
		{s1, s1, t2.Unix()},
		{t2.Unix() - 1, s1, t2.Unix()},
		{t2.Unix(), t2.Unix(), math.MaxInt64},
	} {
		rules, from, until, ok := r.Rules(tc.at)
		if !ok || from != tc.from || until != tc.until {
			t.Errorf("Rules(%d): span [%d, %d) %v, want [%d, %d)", tc.at, from, until, ok, tc.from, tc.until)
		}
		// The same rules throughout the span, others outside it.
		if same, _, _, _ := r.Rules(max(from, tc.at-7200)); same != rules {
			t.Errorf("Rules(%d): other rules at the start of its span", tc.at)
		}
		if until != math.MaxInt64 {
			if next, _, _, _ := r.Rules(until); next == rules {
				t.Errorf("Rules(%d): the same rules after its span", tc.at)
			}
		}
	}
}
