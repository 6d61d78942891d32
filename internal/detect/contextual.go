package detect

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Contextual runs an Engine with what an inventory adds: records on NAT
// interfaces left out (SkipNAT), and the policy detector beside the
// others. Its Process and Ack replace the Engine's; with neither a NAT test
// nor a policy detector it is the Engine, batch IDs included.
type Contextual struct {
	eng     *Engine
	nat     func(eni string) bool
	natList func() []string // every interface nat reports, when known
	// natOver, when set, replaces natList: the NAT interfaces of the
	// configurations in force over a span of time.
	natOver func(from, to time.Time) []string
	policy  *PolicyDetector

	mu         sync.Mutex
	natSkipped int64
	policyN    int64
}

// NewContextual wraps eng. nat reports NAT interfaces (nil: only
// interface-type and resource-id tell); policy may be nil.
func NewContextual(eng *Engine, nat func(eni string) bool, policy *PolicyDetector) *Contextual {
	return &Contextual{eng: eng, nat: nat, policy: policy}
}

// WithNATList tells c the whole set of interfaces its nat test reports,
// so the records' interface IDs are compared with it in place instead of
// asking nat about each.
func (c *Contextual) WithNATList(list func() []string) *Contextual {
	c.natList = list
	return c
}

// WithNATListOver is WithNATList for a nat test that depends on time: list
// returns the NAT interfaces of the configurations in force from one time
// to another, and Process asks it about the span of each batch's start
// times (the zero times when a batch has none).
func (c *Contextual) WithNATListOver(list func(from, to time.Time) []string) *Contextual {
	c.natOver = list
	return c
}

// Engine returns the wrapped engine.
func (c *Contextual) Engine() *Engine { return c.eng }

// Process runs the detectors over rec (see Engine.Process). The engine
// leaves out the records on NAT interfaces (SkipNAT's tests) in place, as
// batchID#nat when any is left out (one pass over the batch however the
// NAT's records interleave with the others'), and the policy detector sees
// every record as batchID#policy, so each part keeps an ID of its own in
// State. With more than one CPU (GOMAXPROCS) the policy detector runs
// beside the others; the alerts are the same, in the same order: the
// engine's, then the policy detector's.
func (c *Contextual) Process(ctx context.Context, batchID string, rec arrow.RecordBatch) ([]Alert, error) {
	var (
		policyAlerts []Alert
		policyErr    error
		wg           sync.WaitGroup
	)
	runPolicy := func() { policyAlerts, policyErr = c.policy.Process(ctx, batchID+"#policy", rec) }
	parallel := c.policy != nil && runtime.GOMAXPROCS(0) > 1
	if parallel {
		warmDictionaries(rec)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runPolicy()
		}()
		defer wg.Wait() // rec stays the caller's until both are done
	}
	var list []string
	switch {
	case c.natOver != nil:
		from, to := startSpan(rec)
		list = c.natOver(from, to)
	case c.natList != nil:
		list = c.natList()
	}
	if list == nil && (c.natOver != nil || c.natList != nil) {
		list = []string{} // none: compare with nothing, never ask nat
	}
	skip, skipped := natRows(rec, c.nat, list)
	id := batchID
	if skipped > 0 {
		id = batchID + "#nat"
	}
	alerts, err := c.eng.process(ctx, id, rec, skip, skipped)
	if err != nil {
		return nil, err
	}
	if c.policy != nil {
		if parallel {
			wg.Wait()
		} else {
			runPolicy()
		}
		if policyErr != nil {
			return nil, policyErr
		}
		alerts = append(alerts, policyAlerts...)
	}
	c.mu.Lock()
	c.natSkipped += skipped
	c.policyN += int64(len(policyAlerts))
	c.mu.Unlock()
	return alerts, nil
}

// Ack records that alerts were delivered (every detector's, policy
// included: they share the State).
func (c *Contextual) Ack(ctx context.Context, alerts []Alert) error { return c.eng.Ack(ctx, alerts) }

// Summary is the engine's summary with the policy alerts counted, and the
// records left out as NAT legs.
func (c *Contextual) Summary() (Summary, int64) {
	s := c.eng.Summary()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.policyN > 0 {
		s.Alerts[Policy] += c.policyN
	}
	return s, c.natSkipped
}

// resourceName is " (name)" for a resource with a name, else "": how
// titles, and so SNS subjects, name the hosts behind addresses.
func resourceName(r *Resource) string {
	if r == nil || r.Name == "" {
		return ""
	}
	return " (" + r.Name + ")"
}

// warmDictionaries builds what arrow computes on first use and caches
// without a lock: the dictionary array of each dictionary-encoded column
// of rec, and every column's null count (Array.NullN). Two detectors
// reading one column at once would race on them; built beforehand, both
// only read.
func warmDictionaries(rec arrow.RecordBatch) {
	for _, col := range rec.Columns() {
		col.NullN() // counted on first use, and stored
		if d, ok := col.(*array.Dictionary); ok {
			d.Dictionary().NullN()
			d.Indices().NullN()
		}
	}
}
