// Package demo is `flowq demo`: a day of synthetic flow logs for the
// reference network pushed through exactly the code the ingest Lambda runs
// (CloudWatch Logs payloads → decoder → pipeline → Parquet and detectors),
// then the alerts and a few named queries over the lake.
//
// The demo writes only to a lake of its own: a directory it created and
// marked (see Marker). It refuses any other non-empty directory, and
// Fresh refuses to empty a demo lake that holds files the demo did not
// write.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/render"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/queries"
)

// DefaultLake is the demo's own lake directory.
const DefaultLake = "./flowq-demo"

// logGroup is the flow-log group the demo pretends CloudWatch Logs
// delivers from.
const logGroup = "/flowq/vpc-flow-logs"

// Config is one demo run.
type Config struct {
	Lake     string    // a local directory the demo creates (default DefaultLake)
	Fresh    bool      // empty the demo's lake first
	Records  int       // ordinary records in the day (the incidents come on top)
	Seed     uint64    // random seed of the traffic
	Now      time.Time // the demo's day is the UTC day before
	Workers  int       // decoders in parallel; 0: GOMAXPROCS
	Out      io.Writer // the story
	Progress io.Writer // live progress line (a terminal), or nil
	Width    int       // terminal width for tables; 0: no limit
	Command  string    // how the user runs flowq, for the commands to try next
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Records < 1000 {
		errs = append(errs, fmt.Errorf("--records %d: at least 1000", c.Records))
	}
	if strings.Contains(c.Lake, "://") && !strings.HasPrefix(c.Lake, "file://") {
		errs = append(errs, fmt.Errorf("--lake %s: the demo writes a local lake of its own", c.Lake))
	}
	if c.Out == nil {
		errs = append(errs, errors.New("no output writer"))
	}
	return errors.Join(errs...)
}

// CommandName is how the user ran flowq, given the program's first
// argument: bin/flowq after make demo (a relative path to a flowq binary),
// else "flowq".
func CommandName(arg0 string) string {
	if filepath.Base(arg0) == "flowq" && strings.Contains(arg0, "/") && !filepath.IsAbs(arg0) {
		return arg0
	}
	return "flowq"
}

// Result is what a run made.
type Result struct {
	Lake   string    // absolute path of the lake
	Day    time.Time // the UTC day of the traffic
	Alerts []detect.Alert
}

// query is a named query the demo runs.
type query struct {
	name   string
	params map[string]string
	why    string
}

func demoQueries() []query {
	return []query{
		{"top-talkers", map[string]string{"limit": "5"}, "who moved the most bytes"},
		{"rejects-by-source", map[string]string{"limit": "5"}, "who keeps knocking on closed doors"},
		{"flows-for-ip", map[string]string{"ip": synth.ExfilDst, "limit": "8"}, "every flow of the exfiltration's destination"},
	}
}

// Run tells the story: generate, package, ingest, alert, query.
func Run(ctx context.Context, c Config) (Result, error) {
	if c.Lake == "" {
		c.Lake = DefaultLake
	}
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	out, begin := c.Out, time.Now()
	dir := strings.TrimPrefix(c.Lake, "file://")
	if err := prepare(dir, c.Fresh, c.Now); err != nil {
		return Result{}, err
	}
	lake, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		return Result{}, err
	}
	abs, _ := filepath.Abs(dir)
	// A day of traffic: yesterday, UTC, so a rerun the same day makes the
	// same batches and rewrites the same objects.
	day := c.Now.UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	res := Result{Lake: abs, Day: day}
	fm := synth.DetectFormat
	fmt.Fprintf(out, "flowq demo: %s, reference network 10.0.0.0/16, the demo's own lake %s\n\n", day.Format("Monday 2006-01-02 (UTC)"), abs)

	// 1. Generate.
	t := time.Now()
	text, incidents := synth.Scenario(c.Seed, fm, day, 24*time.Hour, c.Records, day.Add(14*time.Hour))
	_, text, _ = bytes.Cut(text, []byte{'\n'}) // CloudWatch Logs events carry records, not the header
	fmt.Fprintf(out, "1. generated %s flow-log records (%s of text) with %d incidents in %v\n",
		render.Count(int64(bytes.Count(text, []byte{'\n'}))), render.Bytes(int64(len(text))), len(incidents), time.Since(t).Round(time.Millisecond))

	// 2. Packaged exactly as CloudWatch Logs sends them to the Lambda.
	t = time.Now()
	payloads, streams, err := pack(text, fm)
	if err != nil {
		return res, err
	}
	var payloadBytes int64
	for _, p := range payloads {
		payloadBytes += int64(len(p))
	}
	fmt.Fprintf(out, "2. packaged as %d CloudWatch Logs subscription events from %d ENI log streams (%s of base64 gzip JSON) in %v\n",
		len(payloads), streams, render.Bytes(payloadBytes), time.Since(t).Round(time.Millisecond))

	// 3. The Lambda's path: decode → parse → Parquet → detect.
	t = time.Now()
	dcfg := detect.DefaultConfig()
	dcfg.Retention = 0 // yesterday's windows are history, not late records
	// With the demo network's inventory: names, NAT legs, the policy detector.
	eng, err := detectors(ctx, lake, dcfg, day)
	if err != nil {
		return res, err
	}
	pipe, err := pipeline.New(pipeline.Config{Format: fm, Lake: lake, Detector: eng})
	if err != nil {
		return res, err
	}
	tot, alerts, err := ingestPayloads(ctx, pipe, payloads, c.Workers, newProgress(c.Progress, len(payloads)))
	if err != nil {
		return res, err
	}
	if err := writeMarker(dir, c.Now); err != nil {
		return res, fmt.Errorf("mark the demo's lake: %w", err)
	}
	el := time.Since(t)
	fmt.Fprintf(out, "3. ingested through the Lambda's pipeline in %v (%.0f MB/s): %s records, %d bad lines, %d Parquet objects (%s)\n\n",
		el.Round(time.Millisecond), float64(tot.Bytes)/el.Seconds()/1e6, render.Count(tot.Records), tot.BadLines, tot.Objects, render.Bytes(tot.LakeBytes))

	// 4. The alerts, as the text sink prints them, and what they found.
	slices.SortFunc(alerts, func(x, y detect.Alert) int {
		return strings.Compare(x.WindowStart.Format(time.RFC3339)+x.Detector+x.Src+x.Dst, y.WindowStart.Format(time.RFC3339)+y.Detector+y.Src+y.Dst)
	})
	res.Alerts = alerts
	fmt.Fprintf(out, "4. %d alerts:\n\n", len(alerts))
	if err := alert.NewText(out).Send(ctx, alerts); err != nil {
		return res, err
	}
	found := map[string]bool{}
	for _, al := range alerts {
		found[al.Detector+" "+al.Src+" "+al.Dst] = true
	}
	fmt.Fprintln(out)
	for _, in := range incidents {
		mark := "found"
		for _, e := range in.Alerts {
			if !found[e.Detector+" "+e.Src+" "+e.Dst] {
				mark = "MISSED"
			}
		}
		fmt.Fprintf(out, "   %-16s %s\n", in.Name, mark)
	}
	if err := explainRejected(ctx, out, lake, day); err != nil {
		return res, err
	}

	// 5. Named queries over the lake with DuckDB.
	fmt.Fprintln(out)
	if err := runQueries(ctx, c, lake, store.TimeRange{Since: day, Until: day.Add(24 * time.Hour)}); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "Done in %v. The demo's lake is %s (Parquet, partitioned year=/month=/day=/hour=; %s marks it as the demo's).\n",
		time.Since(begin).Round(100*time.Millisecond), abs, Marker)
	fmt.Fprintln(out, "Run it again: batch ids are deterministic, so the same Parquet objects are rewritten, not added.")
	tryNext(c, day)
	return res, nil
}

// pack packages the records as CloudWatch Logs subscription payloads, one
// log stream per ENI, and returns them and the number of streams.
func pack(text []byte, fm *parse.Format) ([][]byte, int, error) {
	ieni, istart := fm.Index("interface-id"), fm.Index("start")
	payloads, err := cwlogs.Pack(text, cwlogs.PackOptions{
		Owner: synth.Account, LogGroup: logGroup, Filter: "flowq-ingest", Window: time.Hour.Milliseconds(),
		Stream: func(l []byte) string { return string(cwlogs.Field(l, ieni)) + "-all" },
		Timestamp: func(l []byte) int64 {
			s, _ := strconv.ParseInt(string(cwlogs.Field(l, istart)), 10, 64)
			return s * 1000
		},
	})
	seen := map[string]bool{}
	for l := range bytes.SplitSeq(text, []byte{'\n'}) {
		if f := cwlogs.Field(l, ieni); f != nil {
			seen[string(f)] = true
		}
	}
	return payloads, len(seen), err
}

// runQueries runs the demo's named queries over the day in one session.
func runQueries(ctx context.Context, c Config, lake *store.Lake, tr store.TimeRange) error {
	d, err := lakedb.Open(ctx, lake, tr, lakedb.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	for i, dq := range demoQueries() {
		q, err := queries.Get(dq.name)
		if err != nil {
			return err
		}
		sql, err := q.Render(dq.params)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Out, "5.%d flowq run %s %s   # %s\n", i+1, dq.name, paramFlags(dq.params), dq.why)
		rows, err := d.SQL().QueryContext(ctx, sql)
		if err != nil {
			return fmt.Errorf("%s: %w", dq.name, err)
		}
		_, err = render.SQLRows(c.Out, rows, render.Options{Format: render.Table, Width: c.Width})
		rows.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", dq.name, err)
		}
		fmt.Fprintln(c.Out)
	}
	return nil
}

// tryNext lists commands to run next, as the user runs flowq.
func tryNext(c Config, day time.Time) {
	flowq := c.Command
	if flowq == "" {
		flowq = "flowq"
	}
	flowq += " --lake " + c.Lake
	fmt.Fprintln(c.Out, "Try next:")
	tw := tabwriter.NewWriter(c.Out, 0, 0, 3, ' ', 0)
	for _, cmd := range [][2]string{
		{"list", "the named queries"},
		{"run exfil-candidates", "pairs over 1,000,000 bytes out of the network, in the detector's scope"},
		{"run rejected-from-subnet --param cidr=10.0.11.0/24", "rejected flows from the ECS subnet"},
		{`query "SELECT action, count(*) AS flows FROM flows GROUP BY ALL"`, "your own SQL over the flows view"},
		{"detect --since " + day.Format("2006-01-02"), "the detectors over the lake's history"},
		{"explain --src 10.0.11.51 --dst 10.0.21.100 --dst-port 22", "which rule rejected the ECS task's SSH"},
		{"run unused-rules", "security-group rules no flow used"},
		{"demo --fresh", "start over with an empty demo lake"},
	} {
		fmt.Fprintf(tw, "  %s %s\t# %s\n", flowq, cmd[0], cmd[1])
	}
	tw.Flush()
}

func paramFlags(p map[string]string) string {
	var s []string
	for k, v := range p {
		s = append(s, "--param "+k+"="+v)
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}
