package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/render"
	"github.com/flowq/flowq/internal/store"
)

func newCompactCmd(a *app) *cobra.Command {
	var tf timeFlags
	var minFiles int
	var small int64
	cmd := &cobra.Command{
		Use:   "compact [--since T] [--until T] [--min-files N]",
		Short: "Merge each partition's small Parquet files into one",
		Long: `Merge the small files of each hourly partition of the lake into one file
(per field set). Lambda-fed lakes get a file per invocation; compacting makes
queries over long histories much faster.

Safe while ingestion continues: compact merges exactly the files it listed,
writes a manifest of them (under _flowq/, where no reader of flow logs
looks) and then the merged file, and only then deletes exactly those inputs.
flowq's readers skip files a merged file already holds, so they count every
record once even if compact is interrupted. Readers that glob the directory
(DuckDB, Athena) see both copies only between "merged file written" and
"inputs deleted"; if compact was interrupted there, the next run finishes
the job first. A Lambda retry of a batch already merged is dropped.`,
		Example: `  flowq compact
  flowq compact --since 48h --until 1h`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := tf.timeRange(time.Now())
			if err != nil {
				return err
			}
			lake, err := store.Open(cmd.Context(), a.lake, store.Options{})
			if err != nil {
				return err
			}
			t0 := time.Now()
			res, err := lake.Compact(cmd.Context(), store.CompactOptions{Filter: tr.Filter(), MinFiles: minFiles, SmallBytes: small})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "compacted %d partitions: %d files (%s) into %d (%s), %s rows; %d objects removed in %s\n",
				res.Partitions, res.Merged, render.Bytes(res.BytesIn), len(res.Written), render.Bytes(res.BytesOut),
				render.Count(res.Rows), res.Removed, time.Since(t0).Round(time.Millisecond))
			return nil
		},
	}
	addTimeFlags(cmd.Flags(), &tf)
	cmd.Flags().IntVar(&minFiles, "min-files", 2, "merge a partition only when it has at least this many small files")
	cmd.Flags().Int64Var(&small, "small-bytes", 64<<20, "files at least this large are left alone")
	return cmd
}
