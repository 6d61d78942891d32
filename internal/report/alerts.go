package report

import (
	"context"
	"fmt"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/lakescan"
	"github.com/flowq/flowq/internal/store"
)

// Detect runs the detectors with cfg over the lake's records in the range
// exactly as flowq detect does (lakescan.History: partitions in time order,
// in-memory state bounded by the lake's clock, the lake's inventory for
// names, NAT legs and the policy detector) and returns every alert; Build
// keeps those whose window starts in the range.
func Detect(ctx context.Context, lake *store.Lake, tr store.TimeRange, cfg detect.Config) ([]detect.Alert, error) {
	var out []detect.Alert
	collect := func(_ context.Context, as []detect.Alert) error {
		out = append(out, as...)
		return nil
	}
	if _, err := lakescan.History(ctx, lake, tr, cfg, collect, lakescan.HistoryOptions{BatchPrefix: "flowq-report"}); err != nil {
		return nil, fmt.Errorf("report alerts: %w", err)
	}
	return out, nil
}
