package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/render"
	"github.com/flowq/flowq/internal/store"
)

func newSourcesCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "sources [-o FORMAT] | sources rm ID|NAME",
		Short: "List what the lake holds, by source",
		Long: `List every source whose records the lake holds: each file, S3 object or log
group pull 'flowq ingest' stored (once: the same content ingested again from
any path is refused), and each batch the ingest Lambda stored. For each:
its name, kind, records, the span of their start times and when it was
ingested (UTC). 'flowq sources rm' removes exactly one source's records.`,
		Example: `  flowq sources
  flowq sources -o json | jq -r 'select(.records == 0) | .name'
  flowq sources rm ./AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/x.log.gz`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			oo, err := a.outputOptions(output)
			if err != nil {
				return err
			}
			lake, err := store.Open(cmd.Context(), a.lake, store.Options{})
			if err != nil {
				return err
			}
			srcs, err := lake.Sources(cmd.Context())
			if err != nil {
				return err
			}
			if oo.Format == render.JSON {
				rows := make([][]any, len(srcs))
				for i, s := range srcs {
					rows[i] = []any{s.ID, s.Name, s.Kind, s.Records, s.First, s.Last, s.Ingested}
				}
				return render.Write(a.stdout, []string{"id", "name", "kind", "records", "first", "last", "ingested"}, rows, oo)
			}
			rows := make([][]any, len(srcs))
			for i, s := range srcs {
				rows[i] = []any{s.Name, s.Kind, s.Records, s.First, s.Last, s.Ingested}
			}
			if err := render.Write(a.stdout, []string{"name", "kind", "records", "first", "last", "ingested"}, rows, oo); err != nil {
				return err
			}
			if oo.Format == render.Table && len(srcs) == 0 {
				fmt.Fprintf(a.stdout, "\nThe lake %s holds no sources. Add some with: flowq ingest PATH\n", a.lake)
			}
			return nil
		},
	}
	addOutputFlag(cmd.Flags(), &output)
	cmd.AddCommand(newSourcesRmCmd(a))
	return cmd
}

func newSourcesRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID|NAME",
		Short: "Remove one source's records from the lake",
		Long: `Remove every record of one source, also from files compaction merged with
other sources' records, and say how many. Name the source by its ID or by
its name as 'flowq sources' shows it (an ambiguous name is refused).`,
		Example: `  flowq sources rm ./flows/2026-11-20.log.gz
  flowq sources rm 123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T0805Z_1a2b3c4d.log.gz`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lake, err := store.Open(ctx, a.lake, store.Options{})
			if err != nil {
				return err
			}
			srcs, err := lake.Sources(ctx)
			if err != nil {
				return err
			}
			src, err := store.FindSource(srcs, args[0])
			switch {
			case errors.Is(err, store.ErrNotExist):
				return usageError("no source %q in the lake (see flowq sources)", args[0])
			case err != nil:
				return usageError("%v (flowq sources -o json)", err)
			}
			t0 := time.Now()
			s, err := lake.RemoveSource(ctx, src.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed %s records of %s in %s\n", render.Count(s.Records), s.Name, time.Since(t0).Round(time.Millisecond))
			return nil
		},
	}
}
