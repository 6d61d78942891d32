package report

import (
	"context"
	"fmt"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/lakescan"
	"github.com/flowq/flowq/internal/store"
)

// Detect runs the detectors with cfg over the lake's records in the range
// (lakescan.Run: partitions in time order), with in-memory state, and
// returns every alert; Build keeps those whose window starts in the range.
// One process holds the state, so no claim needs a lease (ClaimLease is
// ignored); over history, pass Retention 0 so that no record is late.
func Detect(ctx context.Context, lake *store.Lake, tr store.TimeRange, cfg detect.Config) ([]detect.Alert, error) {
	cfg.ClaimLease = 0
	eng, err := detect.New(cfg, detect.NewMemoryState(), time.Now)
	if err != nil {
		return nil, err
	}
	var out []detect.Alert
	collect := func(_ context.Context, as []detect.Alert) error {
		out = append(out, as...)
		return nil
	}
	if _, err := lakescan.Run(ctx, lake, tr, eng, collect, lakescan.Options{BatchPrefix: "flowq-report"}); err != nil {
		return nil, fmt.Errorf("report alerts: %w", err)
	}
	return out, nil
}
