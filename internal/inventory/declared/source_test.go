package declared_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory/declared"
)

// TestSourcePaths: none and "" attach nothing, an SSM path reads there, a
// path that is neither is ErrPath; none of them calls SSM before the sync.
func TestSourcePaths(t *testing.T) {
	warn := func(msg string) { t.Errorf("unexpected warning: %s", msg) }
	for _, p := range []string{"none", ""} {
		src, err := declared.Source(context.Background(), nil, p, time.Now, warn)
		if src != nil || err != nil {
			t.Errorf("Source(%q) = %v, %v: want nothing", p, src != nil, err)
		}
	}
	if src, err := declared.Source(context.Background(), nil, "/flowq/tradai/declared", time.Now, warn); src == nil || err != nil {
		t.Errorf("Source(an SSM path) = %v, %v: want a reader", src != nil, err)
	}
	for _, p := range []string{"tradai", "flowq/tradai/declared", "AUTO"} {
		if _, err := declared.Source(context.Background(), nil, p, time.Now, warn); !errors.Is(err, declared.ErrPath) {
			t.Errorf("Source(%q) = %v: want ErrPath", p, err)
		}
	}
}
