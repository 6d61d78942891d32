package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowq/flowq/internal/store"
)

// timeRange is a half-open interval [Since, Until) of flow start times; a
// zero bound is open.
type timeRange struct {
	Since, Until time.Time
}

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

// parseTimeRange parses --since and --until values ("" = open).
func parseTimeRange(since, until string, now time.Time) (timeRange, error) {
	var tr timeRange
	var err error
	if since != "" {
		if tr.Since, err = parseTimeArg(since, now); err != nil {
			return tr, usageError("--since: %v", err)
		}
	}
	if until != "" {
		if tr.Until, err = parseTimeArg(until, now); err != nil {
			return tr, usageError("--until: %v", err)
		}
	}
	if !tr.Since.IsZero() && !tr.Until.IsZero() && !tr.Since.Before(tr.Until) {
		return tr, usageError("empty time range: --since %s is not before --until %s",
			tr.Since.Format(time.RFC3339), tr.Until.Format(time.RFC3339))
	}
	return tr, nil
}

// parseTimeArg parses an instant: RFC 3339, "2006-01-02T15:04", a date
// (midnight UTC), Unix seconds, or a duration before now ("90m", "2h",
// "7d", "2w", "1d12h").
func parseTimeArg(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d).UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 100000 {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time: use RFC 3339 (2026-11-20T08:00:00Z), a date (2026-11-20), Unix seconds, or a duration ago such as 30m, 2h, 7d, 2w", s)
}

// parseAgo parses a positive duration with Go units plus d (24h) and w (7d).
func parseAgo(s string) (time.Duration, bool) {
	if s == "" || strings.HasPrefix(s, "-") {
		return 0, false
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, false
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		var mult time.Duration
		switch unit {
		case "d":
			mult = 24 * time.Hour
		case "w":
			mult = 7 * 24 * time.Hour
		default:
			d, err := time.ParseDuration(num + unit)
			if err != nil || unit == "" {
				return 0, false
			}
			total += d
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, false
		}
		total += time.Duration(f * float64(mult))
	}
	return total, total > 0
}

// IsZero reports whether the range is unbounded on both sides.
func (r timeRange) IsZero() bool { return r.Since.IsZero() && r.Until.IsZero() }

// Filter selects the lake partitions (UTC hours) that overlap the range;
// partition pruning happens here, before DuckDB sees any file.
func (r timeRange) Filter() store.Filter {
	if r.IsZero() {
		return nil
	}
	return func(p store.Partition) bool {
		start := p.Time()
		if !r.Until.IsZero() && !start.Before(r.Until) {
			return false
		}
		if !r.Since.IsZero() && !start.Add(time.Hour).After(r.Since) {
			return false
		}
		return true
	}
}

// SQL returns the row predicate of the range on the start column (Unix
// seconds), and on the year partition column so DuckDB can skip files by
// path as well; "" for an unbounded range.
func (r timeRange) SQL() string {
	var conds []string
	if !r.Since.IsZero() {
		conds = append(conds, fmt.Sprintf(`"start" >= %d`, r.Since.Unix()), fmt.Sprintf("year >= %d", r.Since.Year()))
	}
	if !r.Until.IsZero() {
		conds = append(conds, fmt.Sprintf(`"start" < %d`, r.Until.Unix()), fmt.Sprintf("year <= %d", r.Until.Year()))
	}
	return strings.Join(conds, " AND ")
}

// String describes the range for messages.
func (r timeRange) String() string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "…"
		}
		return t.Format(time.RFC3339)
	}
	return "[" + f(r.Since) + ", " + f(r.Until) + ")"
}
