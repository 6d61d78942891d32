package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/store"
)

// ingestFlags are flowq ingest's options.
type ingestFlags struct {
	format, since, until, account, region string
	batch, workers                        int
	detect                                bool
}

func newIngestCmd(a *app) *cobra.Command {
	var f ingestFlags
	cmd := &cobra.Command{
		Use:   "ingest [flags] PATH|-|s3://BUCKET/PREFIX|cloudwatch:LOG_GROUP...",
		Short: "Store flow logs in the lake as Parquet, each input once",
		Long: `Read flow logs and store every record in the lake (--lake, default ./flowlake
or $FLOWQ_LAKE; created if missing) as Parquet, partitioned by the UTC hour of
each record's start: year=YYYY/month=MM/day=DD/hour=HH/.

Inputs:
  FILE or DIR     text (.log, .txt; gzip detected by content) or AWS's Parquet;
                  directories are walked for what AWS delivers to S3, in either
                  layout: AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/
                  or AWSLogs/aws-account-id=.../aws-region=.../year=.../
  -               standard input
  s3://B/PREFIX   the objects under the prefix, read in place (AWS credentials
                  from the environment)
  cloudwatch:G    the events of log group G in --since/--until, one input per
                  log stream and whole hour; the format comes from the flow log
                  that delivers to G (DescribeFlowLogs) unless --format is given.
                  An hour is pulled once it is complete (15 minutes after it ends)

Each input is stored once: files AWS delivered are known by their object name,
anything else by a digest of its content, so the same file from another path,
a copy, or a second run adds nothing. An input's records become visible when
all of it has been read; an input that is not flow logs (binary data, a
Parquet file without flow-log columns, a format without ${start}) or is cut
short (a truncated gzip) is reported and nothing of it is stored; the other
inputs are. Start and end given in epoch milliseconds are stored as seconds.

Rejected lines are reported on stderr (the first few one by one, then a
summary per kind); the rest of the input is stored. Exit status 1 when any
line or input was rejected, 2 on a usage error.`,
		Example: `  flowq ingest ./AWSLogs
  flowq ingest --account 123456789012 --region us-east-1 s3://my-flow-logs/AWSLogs/
  zcat flows.log.gz | flowq ingest -
  flowq ingest cloudwatch:/vpc/flow-logs --since 24h
  flowq ingest --format '${version} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action} ${log-status}' custom.log`,
		Args: argsUsage(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd.Context(), a, f, args)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.format, "format", "", "format of text without a header line, in AWS ${field} syntax (default: AWS's version 2 format)")
	fs.StringVar(&f.since, "since", "", "cloudwatch: start of the range: a duration ago (24h, 7d) or a time (2026-11-20, RFC 3339)")
	fs.StringVar(&f.until, "until", "", "cloudwatch: end of the range (default: now)")
	fs.StringVar(&f.account, "account", "", "only objects AWS delivered for this account id")
	fs.StringVar(&f.region, "region", "", "only objects AWS delivered for this region")
	fs.IntVar(&f.batch, "batch-size", parse.DefaultBatchSize, "records per Arrow batch")
	fs.IntVar(&f.workers, "workers", 4, "cloudwatch: log streams pulled at once")
	fs.BoolVar(&f.detect, "detect", false, "also run the detectors (flowq detect's defaults) over what is stored and print their alerts")
	return cmd
}

func runIngest(ctx context.Context, a *app, f ingestFlags, args []string) error {
	var fm *parse.Format
	if f.format != "" {
		var err error
		if fm, err = parse.ParseFormat(f.format); err != nil {
			return usageError("--format: %v", err)
		}
		if fm.Index(parse.ColStart) < 0 {
			return usageError("--format: no ${start}: records could not be placed in time")
		}
	}
	tr, err := parseTimeRange(f.since, f.until, time.Now())
	if err != nil {
		return err
	}
	src := source.Config{Filter: source.Filter{Account: f.account, Region: f.region}, Stdin: a.stdin,
		Since: tr.Since, Until: tr.Until, Format: fm}
	if !strings.Contains(a.lake, "://") {
		src.Skip = a.lake
	}
	if s3Args, cwArgs := source.NeedsAWS(args); s3Args || cwArgs {
		if cwArgs && src.Since.IsZero() {
			return usageError("cloudwatch: give --since (such as --since 24h)")
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("aws config: %w", err)
		}
		src.UseAWS(cfg, args)
	}
	inputs, problems, err := src.Expand(ctx, args)
	if err != nil {
		return &exitError{code: exitRejected, err: err}
	}
	for _, p := range problems {
		fmt.Fprintf(a.stderr, "flowq: %v\n", p)
	}
	if len(inputs) == 0 {
		return usageError("no flow-log inputs (.log, .gz, .txt, .parquet) in %s", strings.Join(args, ", "))
	}
	lake, err := store.Open(ctx, a.lake, store.Options{Create: true})
	if err != nil {
		return err
	}
	if a.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(pipeline.IngestMemoryLimit) // bounded RSS whatever the input's size
	}
	pc := pipeline.Config{Format: fm, Sources: pipeline.LakeSources(lake), BatchSize: f.batch}
	if f.detect {
		eng, err := detect.New(cliDefaults(), detect.NewMemoryState(), time.Now)
		if err != nil {
			return err
		}
		pc.Detector, pc.Sink = eng, alert.NewText(a.stdout)
	}
	pipe, err := pipeline.New(pc)
	if err != nil {
		return err
	}
	rep := pipeline.NewReport(a.stdout, a.stderr, inputs, a.terminal(a.stderr))
	defer rep.Finish()
	workers := 1 // files: one at a time, each streamed; log streams: concurrently
	if _, cwArgs := source.NeedsAWS(args); cwArgs {
		workers = f.workers
	}
	err = pipe.Ingest(ctx, inputs, pipeline.InputOptions{Read: rep.ReadOptions(fm), Workers: workers}, rep.Input)
	for _, in := range inputs {
		in.Close()
	}
	if err != nil {
		return err
	}
	rep.Summary(lake.URI())
	if rep.Rejected > 0 || rep.Stats.BadLines > 0 || len(problems) > 0 {
		return errRejected
	}
	return nil
}
