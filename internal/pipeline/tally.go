package pipeline

import "github.com/flowq/flowq/internal/source"

// Tally adds up what Ingest did, input by input (flowq ingest's summary).
type Tally struct {
	Stats                                     source.Stats // every input's counters
	Inputs, Stored, Skipped, Rejected, Alerts int
}

// Add counts one input's result.
func (t *Tally) Add(r InputResult) {
	t.Inputs++
	t.Stats.Stats.Add(r.Stats.Stats)
	t.Stats.Stored += r.Stats.Stored
	t.Alerts += len(r.Alerts)
	switch {
	case r.Err != nil:
		t.Rejected++
	case r.Skipped != "":
		t.Skipped++
	default:
		t.Stored++
	}
}
