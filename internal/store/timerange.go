package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeRange is a half-open interval [Since, Until) of flow start times; a
// zero bound is open.
type TimeRange struct {
	Since, Until time.Time
}

// ParseTimeRange parses the values of --since and --until ("" = open)
// against now. Its errors name the flag they are about.
func ParseTimeRange(since, until string, now time.Time) (TimeRange, error) {
	var tr TimeRange
	var err error
	if since != "" {
		if tr.Since, err = ParseTime(since, now); err != nil {
			return tr, fmt.Errorf("--since: %w", err)
		}
	}
	if until != "" {
		if tr.Until, err = ParseTime(until, now); err != nil {
			return tr, fmt.Errorf("--until: %w", err)
		}
	}
	if !tr.Since.IsZero() && !tr.Until.IsZero() && !tr.Since.Before(tr.Until) {
		return tr, fmt.Errorf("empty time range: --since %s is not before --until %s",
			tr.Since.Format(time.RFC3339), tr.Until.Format(time.RFC3339))
	}
	return tr, nil
}

// ParseTime parses an instant: RFC 3339, "2006-01-02T15:04", a date
// (midnight UTC), Unix seconds, or a duration before now ("90m", "2h",
// "7d", "2w", "1d12h").
func ParseTime(s string, now time.Time) (time.Time, error) {
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
func (r TimeRange) IsZero() bool { return r.Since.IsZero() && r.Until.IsZero() }

// Contains reports whether a start time in Unix seconds lies in the range.
func (r TimeRange) Contains(unix int64) bool {
	if !r.Since.IsZero() && unix < r.Since.Unix() {
		return false
	}
	return r.Until.IsZero() || unix < r.Until.Unix()
}

// Filter selects the lake partitions (UTC hours) that overlap the range:
// partition pruning happens here, before any file is opened. nil for an
// unbounded range.
func (r TimeRange) Filter() Filter {
	if r.IsZero() {
		return nil
	}
	return func(p Partition) bool {
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

// String describes the range for messages.
func (r TimeRange) String() string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "…"
		}
		return t.Format(time.RFC3339)
	}
	return "[" + f(r.Since) + ", " + f(r.Until) + ")"
}
