package pipeline

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/render"
	"github.com/flowq/flowq/internal/source"
)

// Report prints what an ingest does, as flowq ingest shows it: rejected
// lines (the first few one by one, then a summary per kind), failed inputs,
// a progress bar, the totals. Its methods are Ingest's and source's
// callbacks; the embedded Tally adds up the inputs.
type Report struct {
	stdout, stderr io.Writer
	mu             sync.Mutex
	sum            parse.Summary
	bar            *progressbar.ProgressBar
	start          time.Time
	inputs         int
	Tally
}

// NewReport reports an ingest of inputs: lines and totals go to stdout,
// problems to stderr; progress draws a bar of the inputs' bytes on stderr
// (for a terminal).
func NewReport(stdout, stderr io.Writer, inputs []*source.Input, progress bool) *Report {
	r := &Report{stdout: stdout, stderr: stderr, start: time.Now(), inputs: len(inputs)}
	var size int64
	for _, in := range inputs {
		size += in.Size
	}
	if progress && size > 0 {
		r.bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("ingest"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
	}
	return r
}

// ReadOptions are source.ReadOptions whose callbacks report to r.
func (r *Report) ReadOptions(fm *parse.Format) source.ReadOptions {
	return source.ReadOptions{Format: fm, OnBadLine: r.BadLine, OnWarning: r.Warning, Progress: r.Progress}
}

// BadLine reports a rejected line (the first few of each kind).
func (r *Report) BadLine(e *parse.LineError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sum.Add(e) {
		fmt.Fprintln(r.stderr, e)
	}
}

// Warning reports a field stored with a caveat.
func (r *Report) Warning(e *parse.LineError) {
	fmt.Fprintf(r.stderr, "%s:%d: warning: field %s: %s\n", e.File, e.Line, e.Field, e.Detail)
}

// Progress advances the bar by n bytes read.
func (r *Report) Progress(n int64) {
	if r.bar != nil {
		r.bar.Add64(n)
	}
}

// Input counts one input's result and reports its failure.
func (r *Report) Input(res InputResult) error {
	r.Add(res)
	var se *source.Error
	switch {
	case errors.As(res.Err, &se): // names the input
		fmt.Fprintf(r.stderr, "flowq: %v; nothing of it was stored\n", res.Err)
	case res.Err != nil:
		fmt.Fprintf(r.stderr, "flowq: %s: %v; nothing of it was stored\n", res.Info.Name, res.Err)
	}
	return nil
}

// Finish removes the progress bar.
func (r *Report) Finish() {
	if r.bar != nil {
		r.bar.Finish()
	}
}

// Summary prints the rejected lines' summary and the totals of the ingest
// into lake.
func (r *Report) Summary(lake string) {
	r.Finish()
	for _, s := range r.sum.Report(r.Stats.Stats) {
		fmt.Fprintln(r.stderr, "flowq:", s)
	}
	st := r.Stats
	fmt.Fprintf(r.stdout, "ingested %d of %d inputs into %s: %s records (%s NODATA, %s SKIPDATA), %s bad lines",
		r.Stored, r.inputs, lake, render.Count(st.Records), render.Count(st.NoData), render.Count(st.SkipData), render.Count(st.BadLines))
	for _, x := range []struct {
		n    int64
		what string
	}{{int64(r.Skipped), "already stored"}, {int64(r.Rejected), "rejected"}, {st.Millis, "millisecond timestamps as seconds"}, {int64(r.Alerts), "alerts"}} {
		if x.n > 0 {
			fmt.Fprintf(r.stdout, ", %s %s", render.Count(x.n), x.what)
		}
	}
	d := time.Since(r.start)
	fmt.Fprintf(r.stdout, "\n  read %s (%s of flow-log text) in %s, %.0f MB/s\n",
		render.Bytes(st.Stored), render.Bytes(st.Bytes), d.Round(time.Millisecond), float64(st.Bytes)/1e6/max(d.Seconds(), 1e-9))
}
