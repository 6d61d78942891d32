package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/render"
	"github.com/flowq/flowq/internal/report"
	"github.com/flowq/flowq/internal/store"
)

func newReportCmd(a *app) *cobra.Command {
	var (
		tf   timeFlags
		df   detectFlags
		out  string
		top  int
		none bool
	)
	cmd := &cobra.Command{
		Use:   "report [--since … --until …] -o report.html",
		Short: "Write one self-contained HTML report of the traffic and its alerts",
		Long: `report writes one HTML file that shows what happened on the network: accepted
and rejected traffic over time (with the previous period of equal length),
egress and ingress by traffic path, top talkers, a sankey from source
subnet to destination group, a port × hour heatmap of rejected traffic,
the detectors' alerts with their evidence, and log health per interface.
Every chart has its numbers in a sortable table beside it.

The file is self-contained: scripts, styles and data are inline and no
request leaves the page, so it opens offline, attaches to a ticket and
archives with an incident. Times are UTC. Buckets scale with the range
(5 minutes for a day, a day for a year). The alerts come from running the
detectors over the range with flowq detect's flags, --config file and
defaults. Hosts and subnets are named from the lake's inventory snapshot
(flowq inventory sync) when it has one.

Without --since and --until the report covers the whole lake.`,
		Example: `  flowq report --since 24h -o today.html
  flowq report --since 2026-11-20 --until 2026-11-21 -o incident.html
  flowq --lake s3://bucket/flows report --since 7d -o week.html`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now().UTC().Truncate(time.Minute) // buckets on whole minutes
			tr, err := tf.timeRange(now)
			if err != nil {
				return err
			}
			if top < 1 {
				return usageError("--top %d: want 1 or more", top)
			}
			if !tr.Since.IsZero() && tr.Until.IsZero() {
				tr.Until = now // so the previous period has a length
			}
			dcfg, err := df.config(os.ReadFile)
			if err != nil {
				return err
			}
			c := report.LakeConfig{Config: report.Config{Top: top, Generated: time.Now()}, Range: tr, Path: out}
			if !none {
				c.Alerts = func(ctx context.Context, lake *store.Lake, tr store.TimeRange) ([]detect.Alert, error) {
					return report.Detect(ctx, lake, tr, dcfg)
				}
			}
			res, err := writeReport(cmd.Context(), a, c)
			if err != nil {
				return err
			}
			plural := "s"
			if len(res.Data.Alerts) == 1 {
				plural = ""
			}
			fmt.Fprintf(a.stderr, "flowq report: %s records, %d alert%s, %s UTC, %s in %.1fs\n",
				render.Count(res.Data.Summary.Records), len(res.Data.Alerts), plural, res.Span(), render.Bytes(res.Size), res.Took.Seconds())
			fmt.Fprintln(a.stdout, res.Path)
			return nil
		},
	}
	fs := cmd.Flags()
	addTimeFlags(fs, &tf)
	fs.StringVarP(&out, "output", "o", "report.html", "the HTML file to write")
	fs.IntVar(&top, "top", report.DefaultTop, "rows of the top-talker and heatmap charts")
	fs.BoolVar(&none, "no-alerts", false, "leave the detectors out (faster over long ranges)")
	addDetectFlags(fs, &df)
	return cmd
}

// writeReport writes the report c asks for of the lake --lake names (see
// report.WriteLake).
func writeReport(ctx context.Context, a *app, c report.LakeConfig) (report.File, error) {
	lake, err := openLake(ctx, a)
	if err != nil {
		return report.File{Path: c.Path}, err
	}
	c.Lake, c.Source = lake, a.lake
	c.Open = func(ctx context.Context, tr store.TimeRange) (*sql.DB, func() error, error) {
		d, err := openSession(ctx, a, lake, tr)
		if err != nil {
			return nil, nil, err
		}
		return d.DB, d.Close, nil
	}
	return report.WriteLake(ctx, c)
}

// writeDemoReport writes the report of the demo's day beside its lake,
// with the alerts the demo's pipeline raised, and prints its path.
func writeDemoReport(ctx context.Context, a *app, lake string, day time.Time, raised []detect.Alert) error {
	da := *a
	da.lake = lake
	c := report.LakeConfig{Config: report.Config{Title: "flowq demo report"},
		Range:  store.TimeRange{Since: day, Until: day.Add(24 * time.Hour)},
		Path:   filepath.Join(filepath.Dir(lake), filepath.Base(lake)+"-report.html"),
		Alerts: func(context.Context, *store.Lake, store.TimeRange) ([]detect.Alert, error) { return raised, nil }}
	r, err := writeReport(ctx, &da, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nThe day's report (%s, open it in a browser; it works offline):\n  %s\n", render.Bytes(r.Size), r.Path)
	return nil
}
