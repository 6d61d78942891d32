package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/demo"
)

func newDemoCmd(a *app) *cobra.Command {
	var c demo.Config
	cmd := &cobra.Command{
		Use:   "demo [--fresh] [--records N] [--lake DIR]",
		Short: "A day of synthetic flow logs through the whole pipeline, end to end",
		Long: `Generate yesterday's flow logs (UTC) for the reference network (10.0.0.0/16:
ALB, ECS tasks, RDS) with four injected incidents — an ECS task's rejected
connections, a database host trying the internet, a 1.4 MB exfiltration
split over several records, a port scan — and push them through exactly
the code the ingest Lambda runs: packaged as CloudWatch Logs subscription
payloads (one log stream per ENI, several batches, base64 gzip JSON),
decoded, parsed, written as Parquet to the lake, run through the detectors
(in-memory state) and alerted on stdout. Then it runs a few named queries
over the lake with DuckDB.

The demo writes only to a lake of its own: ./flowq-demo unless --lake is
given on the command line (FLOWQ_LAKE is ignored, so your lake is never
touched). It creates the directory and marks it with a .flowq-demo file,
and refuses a non-empty directory without that mark. Batch ids are
deterministic, so running the demo again the same day rewrites the same
Parquet objects instead of adding new ones. --fresh empties the demo's
lake first, and refuses when it holds files the demo did not write.`,
		Example: `  flowq demo
  flowq demo --fresh --records 1000000
  flowq --lake /tmp/demo-lake demo`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c.Lake = demo.DefaultLake
			if f := cmd.Flag("lake"); f != nil && f.Changed {
				c.Lake = a.lake
			}
			c.Now, c.Out, c.Width, c.Command = time.Now(), a.stdout, a.terminalWidth(), demo.CommandName(os.Args[0])
			if a.terminal(a.stderr) {
				c.Progress = a.stderr
			}
			if err := c.Validate(); err != nil {
				return usageError("%v", err)
			}
			res, err := demo.Run(ctx, c)
			if err != nil {
				return err
			}
			return writeDemoReport(ctx, a, res.Lake, res.Day, res.Alerts)
		},
	}
	cmd.Flags().BoolVar(&c.Fresh, "fresh", false, "empty the demo's lake first (refused if it holds files the demo did not write)")
	cmd.Flags().IntVar(&c.Records, "records", 400_000, "ordinary flow-log records in the day (the incidents come on top)")
	cmd.Flags().Uint64Var(&c.Seed, "seed", 1, "random seed of the traffic")
	return cmd
}
