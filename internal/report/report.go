// Package report turns the lake's flows and the detectors' alerts into one
// self-contained HTML file: charts, their numbers in tables, no request
// leaving the page.
//
// Build reads what each chart plots from a DuckDB session with a flows view
// (one SQL statement per chart, in queries.go) into a Data; Write renders a
// Data with html/template, the vendored uPlot library and hand-made SVG.
package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowq/flowq/internal/detect"
)

// Config says what to report on.
type Config struct {
	// Since and Until bound the report, [Since, Until). Both zero: the
	// flows view's whole extent. One zero: that end from the data.
	Since, Until time.Time
	// Top is the number of rows of the top-talker and heatmap charts.
	Top int
	// Title heads the page; default "flowq report".
	Title string
	// Source says where the data came from (a lake URI), printed in the header.
	Source string
	// Generated is the time the report says it was made.
	Generated time.Time
	// Names, optional, names hosts in the top-talker charts and subnets in
	// the sankey (see IndexNames).
	Names Names
	// Logger, optional, gets one line per chart with its duration.
	Logger *slog.Logger
}

// DefaultTop is the default of Config.Top.
const DefaultTop = 15

// sankeyGroups is the number of groups the sankey keeps on each side.
const sankeyGroups = 8

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Top < 0 {
		errs = append(errs, fmt.Errorf("top %d: want 0 (default %d) or more", c.Top, DefaultTop))
	}
	if !c.Since.IsZero() && !c.Until.IsZero() && !c.Since.Before(c.Until) {
		errs = append(errs, fmt.Errorf("empty range: since %s is not before until %s", c.Since.Format(time.RFC3339), c.Until.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Input is what the report is built from.
type Input struct {
	// DB is a DuckDB session with a flows view covering [Since, Until) at
	// least (it may hold more: every query filters on start).
	DB *sql.DB
	// Prev, optional, is a session whose flows view covers the previous
	// period of equal length; nil when DB covers it too, or when there is
	// none (an open range starts at the data's first record).
	Prev *sql.DB
	// Alerts are the detectors' alerts; those whose window starts outside
	// the range are left out.
	Alerts []detect.Alert
}

// Build reads every chart's data.
func Build(ctx context.Context, in Input, cfg Config) (*Data, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if in.DB == nil {
		return nil, errors.New("report: no DuckDB session (Input.DB)")
	}
	if cfg.Top == 0 {
		cfg.Top = DefaultTop
	}
	if cfg.Title == "" {
		cfg.Title = "flowq report"
	}
	if cfg.Generated.IsZero() {
		cfg.Generated = time.Now()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := querier{db: in.DB, cols: map[string]bool{}}
	if err := q.describe(ctx); err != nil {
		return nil, err
	}
	d := &Data{Title: cfg.Title, Source: cfg.Source, Generated: cfg.Generated.UTC()}
	var err error
	if d.Since, d.Until, err = q.extent(ctx, cfg.Since, cfg.Until); err != nil {
		return nil, err
	}
	d.Bucket = BucketFor(d.Until.Sub(d.Since))
	q.since, q.until, q.bucket = d.Since.Unix(), d.Until.Unix(), int64(d.Bucket/time.Second)
	prev := q
	prev.since, prev.until = q.since-(q.until-q.since), q.since
	if in.Prev != nil {
		prev.db, prev.cols = in.Prev, map[string]bool{}
		if err := prev.describe(ctx); err != nil {
			return nil, err
		}
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"summary", func() (err error) { d.Summary, err = q.summary(ctx); return }},
		{"traffic", func() (err error) { d.Traffic, err = q.traffic(ctx); return }},
		{"traffic previous", func() (err error) { d.Previous, err = prev.traffic(ctx); return }},
		{"direction", func() (err error) { d.Direction, err = q.direction(ctx); return }},
		{"top pairs", func() (err error) { d.Pairs, err = q.topPairs(ctx, cfg.Top); return }},
		{"top hosts", func() (err error) { d.Hosts, err = q.topHosts(ctx, cfg.Top); return }},
		{"sankey", func() (err error) { d.Sankey, err = q.sankey(ctx, sankeyGroups); return }},
		{"heatmap", func() (err error) { d.Heatmap, err = q.heatmap(ctx, cfg.Top); return }},
		{"health", func() (err error) { d.Health, err = q.health(ctx); return }},
	}
	for _, s := range steps {
		t := time.Now()
		if err := s.fn(); err != nil {
			return nil, fmt.Errorf("report %s: %w", s.name, err)
		}
		log.Debug("report chart", "chart", s.name, "duration", time.Since(t))
	}
	d.Previous = shiftSeries(d.Previous, q.until-q.since)
	d.name(cfg.Names)
	d.Alerts = alertsIn(in.Alerts, d.Since, d.Until)
	return d, nil
}

// maxBuckets bounds the points of a time series.
const maxBuckets = 400

// BucketFor returns the finest bucket width that cuts span into at most
// 400 buckets: 5 minutes for a day, a day for a year.
func BucketFor(span time.Duration) time.Duration {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 24 * time.Hour}
	for _, b := range steps {
		if span/b <= maxBuckets {
			return b
		}
	}
	return 7 * 24 * time.Hour
}

// shiftSeries moves the previous period's points onto the current one.
func shiftSeries(s []TrafficPoint, by int64) []TrafficPoint {
	for i := range s {
		s[i].T += by
	}
	return s
}

// alertsIn keeps the alerts whose window starts in [since, until), sorted
// by window start, detector and source.
func alertsIn(all []detect.Alert, since, until time.Time) []detect.Alert {
	out := []detect.Alert{}
	for _, a := range all {
		if !a.WindowStart.Before(since) && a.WindowStart.Before(until) {
			out = append(out, a)
		}
	}
	sortAlerts(out)
	return out
}
