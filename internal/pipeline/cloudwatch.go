package pipeline

import (
	"context"

	"github.com/flowq/flowq/internal/cwlogs"
)

// Reasons a CloudWatch Logs payload is skipped (Result.Skipped).
const (
	SkipControl = "control message"
	SkipEmpty   = "empty batch"
)

// CloudWatchBatch returns the batch of a decoded DATA_MESSAGE: its id derives
// from (log group, log stream, first event id), its rejected lines name
// their event ids.
func CloudWatchBatch(d *cwlogs.Data) Batch {
	return Batch{
		ID:     d.BatchID(),
		Source: d.LogGroup + "/" + d.LogStream,
		Text:   d.Text,
		Locate: func(line int64) string {
			if i := d.EventAtLine(line); i >= 0 {
				return "event " + d.Event(i).ID
			}
			return ""
		},
	}
}

// CloudWatch processes one decoded CloudWatch Logs subscription payload:
// the Lambda's and flowq demo's common path. A CONTROL_MESSAGE or a payload
// without events is skipped (Result.Skipped says why), not an error.
func (p *Pipeline) CloudWatch(ctx context.Context, d *cwlogs.Data) (Result, error) {
	switch {
	case d.MessageType == cwlogs.ControlMessage:
		return Result{Skipped: SkipControl}, nil
	case d.Len() == 0:
		return Result{Skipped: SkipEmpty}, nil
	}
	return p.Process(ctx, CloudWatchBatch(d))
}
