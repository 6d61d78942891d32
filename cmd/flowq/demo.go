package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/queries"
)

// demoLogGroup is the flow-log group the demo pretends CloudWatch Logs
// delivers from.
const demoLogGroup = "/flowq/vpc-flow-logs"

// demoQueries are the named queries the demo runs, with their parameters.
var demoQueries = []struct {
	name   string
	params map[string]string
	why    string
}{
	{"top-talkers", map[string]string{"limit": "5"}, "who moved the most bytes"},
	{"rejects-by-source", map[string]string{"limit": "5"}, "who keeps knocking on closed doors"},
	{"flows-for-ip", map[string]string{"ip": synth.ExfilDst, "limit": "8"}, "every flow of the exfiltration's destination"},
}

func newDemoCmd(a *app) *cobra.Command {
	var fresh bool
	var records int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "demo [--fresh] [--records N]",
		Short: "A day of synthetic flow logs through the whole pipeline, end to end",
		Long: `Generate yesterday's flow logs (UTC) for the seed VPC (10.0.0.0/16: ALB, ECS
tasks, RDS) with four injected incidents — an ECS task's rejected
connections, a database host trying the internet, a 1.4 MB exfiltration
split over several records, a port scan — and push them through exactly
the code the ingest Lambda runs: packaged as CloudWatch Logs subscription
payloads (one log stream per ENI, several batches, base64 gzip JSON),
decoded, parsed, written as Parquet to the lake (--lake, default
./flowlake), run through the detectors (in-memory state) and alerted on
stdout. Then it runs a few named queries over the lake with DuckDB.

Batch ids are deterministic, so running the demo again on the same day
rewrites the same Parquet objects instead of adding new ones; --fresh
empties the lake directory first.`,
		Example: `  flowq demo
  flowq demo --fresh --records 1000000
  flowq --lake /tmp/demo-lake demo`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if records < 1000 {
				return usageError("--records %d: at least 1000", records)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runDemo(ctx, a, demoOptions{fresh: fresh, records: records, seed: seed, now: time.Now()})
		},
	}
	cmd.Flags().BoolVar(&fresh, "fresh", false, "empty the lake directory first")
	cmd.Flags().IntVar(&records, "records", 400_000, "ordinary flow-log records in the day (the incidents come on top)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed of the traffic")
	return cmd
}

type demoOptions struct {
	fresh   bool
	records int
	seed    uint64
	now     time.Time
	workers int // 0: GOMAXPROCS
}

// runDemo tells the story: generate, package, ingest, alert, query.
func runDemo(ctx context.Context, a *app, o demoOptions) error {
	out := a.stdout
	begin := time.Now()
	if strings.Contains(a.lake, "://") && !strings.HasPrefix(a.lake, "file://") {
		return usageError("flowq demo writes a local lake; --lake %s is remote", a.lake)
	}
	if o.fresh {
		if err := wipeLake(a.lake); err != nil {
			return err
		}
	}
	lake, err := store.Open(ctx, a.lake, store.Options{Create: true})
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(lake.Local())

	// 1. A day of traffic: yesterday, UTC, so a rerun the same day makes the
	// same batches and rewrites the same objects.
	day := o.now.UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	fm := synth.DetectFormat
	fmt.Fprintf(out, "flowq demo: %s, seed VPC 10.0.0.0/16, lake %s\n\n", day.Format("Monday 2006-01-02 (UTC)"), abs)
	t := time.Now()
	text, incidents := synth.Scenario(o.seed, fm, day, 24*time.Hour, o.records, day.Add(14*time.Hour))
	_, text, _ = bytes.Cut(text, []byte{'\n'}) // CloudWatch Logs events carry records, not the header
	fmt.Fprintf(out, "1. generated %s flow-log records (%s of text) with %d incidents in %v\n",
		groupDigits(int64(bytes.Count(text, []byte{'\n'}))), humanBytes(int64(len(text))), len(incidents), time.Since(t).Round(time.Millisecond))

	// 2. Packaged exactly as CloudWatch Logs sends them to the Lambda.
	t = time.Now()
	ieni, istart := fm.Index("interface-id"), fm.Index("start")
	payloads, err := cwlogs.Pack(text, cwlogs.PackOptions{
		Owner: synth.Account, LogGroup: demoLogGroup, Filter: "flowq-ingest", Window: time.Hour.Milliseconds(),
		Stream: func(l []byte) string { return string(cwlogs.Field(l, ieni)) + "-all" },
		Timestamp: func(l []byte) int64 {
			s, _ := strconv.ParseInt(string(cwlogs.Field(l, istart)), 10, 64)
			return s * 1000
		},
	})
	if err != nil {
		return err
	}
	var payloadBytes int64
	for _, p := range payloads {
		payloadBytes += int64(len(p))
	}
	streams := 0
	{
		seen := map[string]bool{}
		for l := range bytes.SplitSeq(text, []byte{'\n'}) {
			if f := cwlogs.Field(l, ieni); f != nil && !seen[string(f)] {
				seen[string(f)] = true
				streams++
			}
		}
	}
	fmt.Fprintf(out, "2. packaged as %d CloudWatch Logs subscription events from %d ENI log streams (%s of base64 gzip JSON) in %v\n",
		len(payloads), streams, humanBytes(payloadBytes), time.Since(t).Round(time.Millisecond))

	// 3. The Lambda's path: decode → parse → Parquet → detect.
	t = time.Now()
	dcfg := detect.DefaultConfig()
	dcfg.Retention = 0 // yesterday's windows are history, not late records
	eng, err := detect.New(dcfg, detect.NewMemoryState(), nil)
	if err != nil {
		return err
	}
	pipe, err := pipeline.New(pipeline.Config{Format: fm, Lake: lake, Detector: eng})
	if err != nil {
		return err
	}
	tot, alerts, err := ingestPayloads(ctx, pipe, payloads, o.workers, newProgress(a, len(payloads)))
	if err != nil {
		return err
	}
	el := time.Since(t)
	fmt.Fprintf(out, "3. ingested through the Lambda's pipeline in %v (%.0f MB/s): %s records, %d bad lines, %d Parquet objects (%s)\n\n",
		el.Round(time.Millisecond), float64(tot.Bytes)/el.Seconds()/1e6, groupDigits(tot.Records), tot.BadLines, tot.Objects, humanBytes(tot.LakeBytes))

	// 4. The alerts, as the text sink prints them.
	slices.SortFunc(alerts, func(x, y detect.Alert) int {
		return strings.Compare(x.WindowStart.Format(time.RFC3339)+x.Detector+x.Src+x.Dst, y.WindowStart.Format(time.RFC3339)+y.Detector+y.Src+y.Dst)
	})
	fmt.Fprintf(out, "4. %d alerts:\n\n", len(alerts))
	if err := alert.NewText(out).Send(ctx, alerts); err != nil {
		return err
	}
	found := map[string]bool{}
	for _, al := range alerts {
		found[al.Detector+" "+al.Src+" "+al.Dst] = true
	}
	fmt.Fprintln(out)
	for _, in := range incidents {
		ok := true
		for _, e := range in.Alerts {
			ok = ok && found[e.Detector+" "+e.Src+" "+e.Dst]
		}
		mark := "found"
		if !ok {
			mark = "MISSED"
		}
		fmt.Fprintf(out, "   %-16s %s\n", in.Name, mark)
	}

	// 5. Named queries over the lake with DuckDB.
	fmt.Fprintln(out)
	tr := timeRange{Since: day, Until: day.Add(24 * time.Hour)}
	oo, err := a.outputOptions(outTable)
	if err != nil {
		return err
	}
	for i, dq := range demoQueries {
		q, err := queries.Get(dq.name)
		if err != nil {
			return err
		}
		sql, err := q.Render(dq.params)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "5.%d flowq run %s %s   # %s\n", i+1, dq.name, paramFlags(dq.params), dq.why)
		if err := a.runSQL(ctx, sql, tr, oo); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}

	fmt.Fprintf(out, "Done in %v. The lake is in %s (Parquet, partitioned year=/month=/day=/hour=).\n",
		time.Since(begin).Round(100*time.Millisecond), abs)
	fmt.Fprintln(out, "Run it again: batch ids are deterministic, so the same Parquet objects are rewritten, not added.")
	fmt.Fprintln(out, "Try next:")
	flowq := "flowq"
	if arg0 := os.Args[0]; filepath.Base(arg0) == "flowq" && strings.Contains(arg0, "/") && !filepath.IsAbs(arg0) {
		flowq = arg0 // bin/flowq after make demo
	}
	if a.lake != "./flowlake" {
		flowq += " --lake " + a.lake
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	for _, c := range [][2]string{
		{"list", "the named queries"},
		{"run exfil-candidates", "pairs over 1,000,000 bytes: the seed's Logs Insights query, literally (AWS endpoints too)"},
		{"run rejected-from-subnet --param cidr=10.0.11.0/24", "rejected flows from the ECS subnet"},
		{`query "SELECT action, count(*) AS flows FROM flows GROUP BY ALL"`, "your own SQL over the flows view"},
		{"detect --since " + day.Format("2006-01-02"), "the detectors over the lake's history"},
		{"demo --fresh", "start over with an empty lake"},
	} {
		fmt.Fprintf(tw, "  %s %s\t# %s\n", flowq, c[0], c[1])
	}
	tw.Flush()
	return nil
}

func paramFlags(p map[string]string) string {
	var s []string
	for k, v := range p {
		s = append(s, "--param "+k+"="+v)
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

// wipeLake removes a local lake directory, refusing anything that does not
// look like one.
func wipeLake(dir string) error {
	dir = strings.TrimPrefix(dir, "file://")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "year=") {
			return fmt.Errorf("--fresh: %s holds %s, which is not part of a lake; not removing it", dir, e.Name())
		}
	}
	return os.RemoveAll(dir)
}

// demoTotals adds up the pipeline results.
type demoTotals struct {
	Records, BadLines, Bytes, LakeBytes int64
	Objects                             int
}

// ingestPayloads runs the payloads through the Lambda's path, a decoder per
// worker, and returns the totals and the alerts.
func ingestPayloads(ctx context.Context, pipe *pipeline.Pipeline, payloads [][]byte, workers int, prog *progress) (demoTotals, []detect.Alert, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		mu     sync.Mutex
		tot    demoTotals
		alerts []detect.Alert
		next   atomic.Int64
		first  error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			dec := cwlogs.NewDecoder(cwlogs.Options{})
			for {
				i := int(next.Add(1)) - 1
				if i >= len(payloads) || ctx.Err() != nil {
					return
				}
				d, err := dec.DecodeEvent(payloads[i])
				var res pipeline.Result
				if err == nil {
					res, err = pipe.CloudWatch(ctx, d)
				}
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("payload %d: %w", i, err)
					cancel()
				}
				tot.Records += res.Records
				tot.BadLines += res.BadLines
				tot.Bytes += res.Bytes
				tot.LakeBytes += res.LakeBytes
				tot.Objects += len(res.Objects)
				alerts = append(alerts, res.Alerts...)
				prog.add(1, tot.Records)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	prog.done()
	return tot, alerts, first
}

// progress reports ingestion on stderr: a live line on a terminal, nothing
// otherwise.
type progress struct {
	w     io.Writer
	total int
	n     int
	last  time.Time
	live  bool
}

func newProgress(a *app, total int) *progress {
	p := &progress{w: a.stderr, total: total}
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.live = true
	}
	return p
}

func (p *progress) add(n int, records int64) {
	p.n += n
	if !p.live || time.Since(p.last) < 100*time.Millisecond && p.n < p.total {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r   %d/%d payloads, %s records", p.n, p.total, groupDigits(records))
}

func (p *progress) done() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
