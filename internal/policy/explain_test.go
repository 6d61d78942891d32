package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// metaMap is an in-memory inventory.MetaStore.
type metaMap map[string][]byte

func (m metaMap) PutMeta(_ context.Context, name string, data []byte) error {
	m[name] = data
	return nil
}
func (m metaMap) GetMeta(_ context.Context, name string) ([]byte, error) { return m[name], nil }
func (m metaMap) ListMeta(_ context.Context, prefix string) ([]string, error) {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}

// TestExplainAt: the archive's snapshot decides, as Evaluate over it; none
// at all is inventory.ErrNoSnapshot; WriteJSON round-trips the result.
func TestExplainAt(t *testing.T) {
	ctx := context.Background()
	meta := metaMap{}
	q := Query{Src: netip.MustParseAddr("10.0.11.51"), Dst: netip.MustParseAddr("10.0.21.100"), DstPort: 22, Protocol: 6}
	if _, err := ExplainAt(ctx, meta, time.Time{}, q); !errors.Is(err, inventory.ErrNoSnapshot) {
		t.Fatalf("no snapshot: %v", err)
	}
	day := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	arch, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arch.Save(ctx, inventory.DemoSnapshot(day)); err != nil {
		t.Fatal(err)
	}
	res, err := ExplainAt(ctx, meta, time.Time{}, q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Evaluate(inventory.NewIndex(inventory.DemoSnapshot(day)), q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != want.Verdict || res.Rule != want.Rule || res.Verdict == "" {
		t.Errorf("got %s %q, want %s %q", res.Verdict, res.Rule, want.Verdict, want.Rule)
	}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Verdict != res.Verdict || back.Rule != res.Rule {
		t.Errorf("json %v: %s", err, buf.String())
	}
}
