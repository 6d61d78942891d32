package collect

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
)

// Defaults of Config.
const (
	DefaultInterval = time.Hour
	DefaultSettle   = 15 * time.Minute
	DefaultLateness = 2 * time.Hour
	DefaultBackfill = 24 * time.Hour
	// DefaultCheckpointEvery is Config.CheckpointEvery's default.
	DefaultCheckpointEvery = 2 * time.Minute
	// CheckpointName is the checkpoint's name in the lake's metadata area
	// (store.Lake.PutMeta): <lake>/_flowq/meta/collect/checkpoint.
	CheckpointName = "collect/checkpoint"
)

// Config configures a Collector.
type Config struct {
	// Bucket and Prefix locate the delivered flow logs: the flow log's S3
	// destination (ParseDelivery). Prefix may name the region directory
	// AWS writes to (.../AWSLogs/{account}/vpcflowlogs/{region}/): then one
	// listing per day; otherwise those directories are found with two
	// more listings per run.
	Bucket, Prefix string
	// Interval is the schedule's period and the length of a slot
	// (default DefaultInterval): a divisor of 60 minutes or a multiple of
	// an hour up to a day.
	Interval time.Duration
	// Settle is how long after its end a slot's objects are taken as
	// complete (default DefaultSettle): a slot is collected by the first
	// run after its end + Settle, so an alert comes up to Interval +
	// Settle (and the run) after the traffic.
	Settle time.Duration
	// Lateness is how late an object may arrive after its slot was done
	// and still be ingested, as a late batch of that slot (default
	// DefaultLateness): each run lists the day folders from the last
	// slot done minus Lateness, and ingests every object there it has
	// not ingested yet. Older day folders are not listed again.
	Lateness time.Duration
	// Backfill is how far back the first run (no checkpoint) reaches:
	// the day folders from now - Backfill on (default DefaultBackfill).
	Backfill time.Duration
	// StreamBytes: a delivered object at least this large (as listed,
	// compressed) is stored on its own, streamed in bounded memory,
	// rather than held with the slot's other objects for their one lake
	// write (default DefaultStreamBytes; negative: never).
	StreamBytes int64
	// CheckpointEvery is how often a run of several slots (a backfill, a
	// run after an outage) writes its checkpoint between them (default
	// DefaultCheckpointEvery), so a retry after a timeout goes on.
	CheckpointEvery time.Duration

	Objects  Objects           // the delivery bucket (an *s3.Client)
	Meta     Meta              // the checkpoint's store (the lake)
	Lake     pipeline.Lake     // where records go (the lake)
	Detector pipeline.Detector // built over State; nil: no detection
	State    *State            // the detector's State, restored each run
	Sink     pipeline.Sink     // alerts; nil keeps them in Result
	Format   *parse.Format     // of text without a header line (nil: AWS's default)
	Logger   *slog.Logger      // nil: discard
	Now      func() time.Time  // nil: time.Now
	// Hook, if set, is called after each step of a run by its name
	// (StepRead, StepList, ...); an error stops the run there as a crash
	// would. For tests.
	Hook func(step string) error
}

// Steps of a run, passed to Config.Hook.
const (
	StepRead  = "read checkpoint"
	StepList  = "list"
	StepSlot  = "slot" // after each delivery slot's objects: read, and the slots they complete stored, detected, alerted
	StepWrite = "write checkpoint"
)

func (c *Config) defaults() {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Lateness == 0 {
		c.Lateness = DefaultLateness
	}
	if c.Backfill == 0 {
		c.Backfill = DefaultBackfill
	}
	if c.StreamBytes == 0 {
		c.StreamBytes = DefaultStreamBytes
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, errors.New("collect: no delivery bucket"))
	}
	if err := ValidInterval(c.Interval); err != nil {
		errs = append(errs, err)
	}
	if c.Settle < 0 || c.Lateness < 0 || c.Backfill < 0 {
		errs = append(errs, errors.New("collect: settle, lateness and backfill must not be negative"))
	}
	if c.Objects == nil || c.Meta == nil || c.Lake == nil {
		errs = append(errs, errors.New("collect: Objects, Meta and Lake are required"))
	}
	if c.Detector != nil && c.State == nil {
		errs = append(errs, errors.New("collect: a Detector needs its State (collect.NewState)"))
	}
	return errors.Join(errs...)
}

// ValidInterval reports whether d can be the collector's period: a whole
// number of minutes dividing an hour, or a whole number of hours dividing
// a day, so slots align on the clock.
func ValidInterval(d time.Duration) error {
	switch {
	case d <= 0 || d%time.Minute != 0:
		return fmt.Errorf("collect interval %v: want whole minutes", d)
	case d <= time.Hour && time.Hour%d == 0:
		return nil
	case d%time.Hour == 0 && 24*time.Hour%d == 0:
		return nil
	}
	return fmt.Errorf("collect interval %v: want a divisor of 60 minutes (5, 10, 15, 20, 30, 60) or of a day in hours (2, 3, 4, 6, 8, 12, 24)", d)
}

// ParseDelivery splits s3://bucket/prefix.
func ParseDelivery(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("delivery location %q: want s3://bucket/prefix", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("delivery location %q: no bucket", uri)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}
