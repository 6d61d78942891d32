package resolve

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
)

// Contextual builds the detectors for cfg with the inventory kept in meta
// (the lake): alerts name their resources, records on NAT interfaces are
// left out, and the policy detector runs when cfg selects every detector
// (or lists "policy"). Without any snapshot it is the plain engine (v11's
// interface-type still marks NAT gateways' records).
func Contextual(ctx context.Context, meta inventory.MetaStore, cfg detect.Config, st detect.State, now func() time.Time, log *slog.Logger) (*detect.Contextual, error) {
	r, err := Open(ctx, meta, 0, Options{Logger: log})
	if err != nil {
		return nil, err
	}
	var opts []detect.Option
	var nat func(string) bool
	if r.HasSnapshots() {
		opts, nat = append(opts, detect.WithResolver(r)), r.NAT
	}
	eng, err := detect.New(cfg, st, now, opts...)
	if err != nil {
		return nil, err
	}
	var pol *detect.PolicyDetector
	if r.HasSnapshots() && (len(cfg.Detectors) == 0 || slices.Contains(cfg.Detectors, detect.Policy) ||
		slices.Equal(slices.Sorted(slices.Values(cfg.Detectors)), slices.Sorted(slices.Values(detect.AllDetectors())))) {
		if pol, err = detect.NewPolicyDetector(r, st, now, cfg, r); err != nil {
			return nil, err
		}
	}
	return detect.NewContextual(eng, nat, pol), nil
}
