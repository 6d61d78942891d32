package policy

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// ExplainAt evaluates q against the inventory snapshot in meta that was in
// force at at (the newest when at is zero): flowq explain.
func ExplainAt(ctx context.Context, meta inventory.MetaStore, at time.Time, q Query) (Result, error) {
	arch, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		return Result{}, err
	}
	x, err := arch.AsOf(ctx, at)
	if err != nil {
		return Result{}, err
	}
	return Evaluate(x, q)
}

// WriteJSON writes the result as one indented JSON object: verdict, layer,
// rule, both ends and the steps.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
