package demo

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/render"
)

// totals adds up the pipeline results.
type totals struct {
	Records, BadLines, Bytes, LakeBytes int64
	Objects                             int
}

// ingestPayloads runs the payloads through the Lambda's path, a decoder per
// worker, and returns the totals and the alerts.
func ingestPayloads(ctx context.Context, pipe *pipeline.Pipeline, payloads [][]byte, workers int, prog *progress) (totals, []detect.Alert, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		mu     sync.Mutex
		tot    totals
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

// progress shows ingestion as a live line on a terminal; nothing when w is
// nil.
type progress struct {
	w     io.Writer
	total int
	n     int
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress { return &progress{w: w, total: total} }

func (p *progress) add(n int, records int64) {
	p.n += n
	if p.w == nil || time.Since(p.last) < 100*time.Millisecond && p.n < p.total {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r   %d/%d payloads, %s records", p.n, p.total, render.Count(records))
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
