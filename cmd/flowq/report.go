package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
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
			var alerts alertSource
			if !none {
				alerts = func(ctx context.Context, lake *store.Lake, tr timeRange) ([]detect.Alert, error) {
					return report.Detect(ctx, lake, tr, dcfg)
				}
			}
			res, err := writeReport(cmd.Context(), a, tr, out, report.Config{Top: top, Generated: time.Now()}, alerts)
			if err != nil {
				return err
			}
			plural := "s"
			if len(res.data.Alerts) == 1 {
				plural = ""
			}
			fmt.Fprintf(a.stderr, "flowq report: %s records, %d alert%s, %s UTC, %s in %.1fs\n",
				groupDigits(res.data.Summary.Records), len(res.data.Alerts), plural, res.span(), humanBytes(res.size), res.took.Seconds())
			fmt.Fprintln(a.stdout, res.path)
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

// reportResult is what writeReport made.
type reportResult struct {
	path string
	size int64
	took time.Duration
	data *report.Data
}

func (r reportResult) span() string {
	return r.data.Since.Format("2006-01-02 15:04") + " – " + r.data.Until.Format("2006-01-02 15:04")
}

// alertSource gives the alerts of a report; nil leaves them out.
type alertSource func(context.Context, *store.Lake, timeRange) ([]detect.Alert, error)

// writeReport builds the report of tr over the lake --lake names and
// writes it to path (through a temporary file, so a failed run leaves no
// half page).
func writeReport(ctx context.Context, a *app, tr timeRange, path string, cfg report.Config, alerts alertSource) (reportResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	res := reportResult{path: path}
	d, err := openLakeDB(ctx, a, tr)
	if err != nil {
		return res, err
	}
	defer d.Close()
	in := report.Input{DB: d.DB}
	if !tr.Since.IsZero() {
		p, err := openLakeDB(ctx, a, timeRange{Since: tr.Since.Add(-tr.Until.Sub(tr.Since)), Until: tr.Since})
		if err != nil {
			return res, err
		}
		defer p.Close()
		in.Prev = p.DB
	}
	if alerts != nil {
		if in.Alerts, err = alerts(ctx, d.Lake, tr); err != nil {
			return res, err
		}
	}
	if cfg.Names, err = inventoryNames(ctx, d.Lake, tr); err != nil {
		return res, err
	}
	cfg.Since, cfg.Until, cfg.Source = tr.Since, tr.Until, a.lake
	if res.data, err = report.Build(ctx, in, cfg); err != nil {
		return res, err
	}
	if res.size, err = report.WriteFile(path, res.data); err != nil {
		return res, err
	}
	res.took = time.Since(start)
	return res, nil
}

// inventoryNames names hosts and subnets from the lake's inventory
// snapshot in force at the range's end; nil without one.
func inventoryNames(ctx context.Context, lake *store.Lake, tr timeRange) (report.Names, error) {
	arch, err := inventory.OpenArchive(ctx, lake, 1)
	if err != nil {
		return nil, err
	}
	x, err := arch.AsOf(ctx, tr.Until)
	if errors.Is(err, inventory.ErrNoSnapshot) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return report.IndexNames(x), nil
}

// writeDemoReport writes the report of the demo's day beside its lake,
// with the alerts the demo's pipeline raised, and prints its path.
func writeDemoReport(ctx context.Context, a *app, lake string, day time.Time, raised []detect.Alert) error {
	da := *a
	da.lake = lake
	path := filepath.Join(filepath.Dir(lake), filepath.Base(lake)+"-report.html")
	tr := timeRange{Since: day, Until: day.Add(24 * time.Hour)}
	alerts := func(context.Context, *store.Lake, timeRange) ([]detect.Alert, error) { return raised, nil }
	r, err := writeReport(ctx, &da, tr, path, report.Config{Title: "flowq demo report"}, alerts)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nThe day's report (%s, open it in a browser; it works offline):\n  %s\n", humanBytes(r.size), r.path)
	return nil
}
