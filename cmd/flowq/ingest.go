package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/render"
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
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runIngest(ctx, a, f, args)
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
	tr, err := store.ParseTimeRange(f.since, f.until, time.Now())
	if err != nil {
		return usageError("%v", err)
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
	rep := newIngestReport(a, inputs)
	defer rep.finish()
	ro := source.ReadOptions{Format: fm, OnBadLine: rep.badLine, OnWarning: rep.warning, Progress: rep.progress}
	workers := 1 // files: one at a time, each streamed; log streams: concurrently
	if _, cwArgs := source.NeedsAWS(args); cwArgs {
		workers = f.workers
	}
	err = pipe.Ingest(ctx, inputs, pipeline.InputOptions{Read: ro, Workers: workers}, rep.input)
	for _, in := range inputs {
		in.Close()
	}
	if err != nil {
		return err
	}
	rep.summary(lake.URI())
	if rep.Rejected > 0 || rep.Stats.BadLines > 0 || len(problems) > 0 {
		return errRejected
	}
	return nil
}

// ingestReport prints what ingest does: rejected lines (a few, then a
// summary), failed inputs, progress on a terminal, the totals.
type ingestReport struct {
	a      *app
	mu     sync.Mutex
	sum    parse.Summary
	bar    *progressbar.ProgressBar
	start  time.Time
	inputs int
	pipeline.Tally
}

func newIngestReport(a *app, inputs []*source.Input) *ingestReport {
	r := &ingestReport{a: a, start: time.Now(), inputs: len(inputs)}
	var size int64
	for _, in := range inputs {
		size += in.Size
	}
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && size > 0 {
		r.bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(a.stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("ingest"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
	}
	return r
}

func (r *ingestReport) badLine(e *parse.LineError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sum.Add(e) {
		fmt.Fprintln(r.a.stderr, e)
	}
}

func (r *ingestReport) warning(e *parse.LineError) {
	fmt.Fprintf(r.a.stderr, "%s:%d: warning: field %s: %s\n", e.File, e.Line, e.Field, e.Detail)
}

func (r *ingestReport) progress(n int64) {
	if r.bar != nil {
		r.bar.Add64(n)
	}
}

func (r *ingestReport) input(res pipeline.InputResult) error {
	r.Add(res)
	var se *source.Error
	switch {
	case errors.As(res.Err, &se): // names the input
		fmt.Fprintf(r.a.stderr, "flowq: %v; nothing of it was stored\n", res.Err)
	case res.Err != nil:
		fmt.Fprintf(r.a.stderr, "flowq: %s: %v; nothing of it was stored\n", res.Info.Name, res.Err)
	}
	return nil
}

func (r *ingestReport) finish() {
	if r.bar != nil {
		r.bar.Finish()
	}
}

// summary prints the totals.
func (r *ingestReport) summary(lake string) {
	r.finish()
	for _, s := range r.sum.Report(r.Stats.Stats) {
		fmt.Fprintln(r.a.stderr, "flowq:", s)
	}
	st := r.Stats
	fmt.Fprintf(r.a.stdout, "ingested %d of %d inputs into %s: %s records (%s NODATA, %s SKIPDATA), %s bad lines",
		r.Stored, r.inputs, lake, render.Count(st.Records), render.Count(st.NoData), render.Count(st.SkipData), render.Count(st.BadLines))
	for _, x := range []struct {
		n    int64
		what string
	}{{int64(r.Skipped), "already stored"}, {int64(r.Rejected), "rejected"}, {st.Millis, "millisecond timestamps as seconds"}, {int64(r.Alerts), "alerts"}} {
		if x.n > 0 {
			fmt.Fprintf(r.a.stdout, ", %s %s", render.Count(x.n), x.what)
		}
	}
	d := time.Since(r.start)
	fmt.Fprintf(r.a.stdout, "\n  read %s (%s of flow-log text) in %s, %.0f MB/s\n",
		render.Bytes(st.Stored), render.Bytes(st.Bytes), d.Round(time.Millisecond), float64(st.Bytes)/1e6/max(d.Seconds(), 1e-9))
}
