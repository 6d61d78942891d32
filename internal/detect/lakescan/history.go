package lakescan

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/store"
)

// ErrConfig is wrapped by History's errors about the configuration, which
// no retry can fix.
var ErrConfig = errors.New("detect config")

// configError is an error of the configuration: its text is err's.
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{e.err, ErrConfig} }

// HistoryOptions tune History; the zero value is ready to use.
type HistoryOptions struct {
	// BatchPrefix names the batches (see Options).
	BatchPrefix string
	// Span names the range in the summary line ("all time" when empty).
	Span string
	// Logger receives the inventory's notices (nil: discarded).
	Logger *slog.Logger
}

// History runs cfg's detectors over the lake's records in tr as flowq
// detect does, and sends the alerts to send as they come: in-memory state;
// the lake's inventory, which names the alerts' resources, leaves out NAT
// legs and feeds the policy detector (resolve.Contextual); and, unless cfg
// sets a Retention, the lake's Clock with HistoryRetention, so that every
// record is judged and the state holds a few hours of windows however long
// the range. It returns the run's summary line (Stats.Summary).
func History(ctx context.Context, lake *store.Lake, tr store.TimeRange, cfg detect.Config, send func(context.Context, []detect.Alert) error, opts HistoryOptions) (string, error) {
	started := time.Now()
	run := Options{BatchPrefix: opts.BatchPrefix}
	now := time.Now
	if cfg.Retention == 0 {
		run.Clock = new(Clock)
		now, cfg.Retention = run.Clock.Now, HistoryRetention
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	eng, err := resolve.Contextual(lake, cfg, detect.NewMemoryState(), now, resolve.Options{Logger: log})
	if err != nil {
		return "", configError{err}
	}
	st, err := Run(ctx, lake, tr, eng, send, run)
	if err != nil {
		return "", err
	}
	s, _ := eng.Summary()
	return st.Summary(s, opts.Span, time.Since(started)), nil
}
