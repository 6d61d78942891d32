package report

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/store"
)

// Detect runs the detectors with cfg over the lake's records of the
// range's hour partitions, in partition order, with in-memory state, and
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
	i := 0
	err = lake.Scan(ctx, tr.Filter(), func(rec arrow.RecordBatch) error {
		i++
		as, err := eng.Process(ctx, "flowq-report#"+strconv.Itoa(i), rec)
		if err != nil || len(as) == 0 {
			return err
		}
		out = append(out, as...)
		return eng.Ack(ctx, as)
	})
	if err != nil {
		return nil, fmt.Errorf("report alerts: %w", err)
	}
	return out, nil
}
