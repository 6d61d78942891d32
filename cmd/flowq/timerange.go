package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/flowq/flowq/internal/store"
)

// timeRange is store.TimeRange (parsing and partition pruning live there).
type timeRange = store.TimeRange

// timeFlags are the --since and --until flags of a command.
type timeFlags struct {
	since, until string
}

// addTimeFlags binds --since and --until on fs.
func addTimeFlags(fs *pflag.FlagSet, tf *timeFlags) {
	fs.StringVar(&tf.since, "since", "", "only flows that start at or after this time: RFC 3339 (2026-11-20T08:00:00Z), a date (2026-11-20) or a duration ago (2h, 7d, 1w)")
	fs.StringVar(&tf.until, "until", "", "only flows that start before this time (same forms as --since)")
}

// timeRange parses the flags against now. Errors are usage errors.
func (tf timeFlags) timeRange(now time.Time) (timeRange, error) {
	return parseTimeRange(tf.since, tf.until, now)
}

// parseTimeRange is store.ParseTimeRange with usage errors.
func parseTimeRange(since, until string, now time.Time) (timeRange, error) {
	tr, err := store.ParseTimeRange(since, until, now)
	if err != nil {
		return tr, usageError("%v", err)
	}
	return tr, nil
}
