// Package collect is the scheduled collector: every interval it ingests the
// flow-log objects AWS delivered to S3 since its last run, one lake batch
// per slot of the schedule, runs the detectors over them and publishes the
// alerts, then writes its checkpoint.
//
// A slot's batch is the records that START in the slot, so that it is one
// lake object (one hour partition): a steady hourly run makes one lake
// write. One run: read the checkpoint (the detector state, the objects
// already ingested, the last slot done, the records read for the slot
// after it); list the delivery bucket's day folders; read every new object
// AWS named before the last settled slot's end + Settle (AWS names an
// object by the time its records end); store each settled slot's records
// with ONE lake write under the slot's batch id ("collect/<slot>"), and
// records of a slot done before as "collect/<slot>/late/<seq>"; detect,
// alert, acknowledge; write the checkpoint last, holding the records of
// the next slot (a run of several slots also between them, every
// Config.CheckpointEvery). A run that fails leaves the last checkpoint it
// or its predecessor wrote, and the next run redoes the batches after it
// under the same ids: the lake write replaces what the failed run wrote,
// the detector state is the one the checkpoint holds, and alert claims
// kept in DynamoDB (State's Claims) stop a second publication of an alert
// a failed run already acknowledged. A failure between publishing an
// alert and acknowledging it publishes it again, with the same id.
package collect

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/smithy-go"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/store"
)

// Meta stores the checkpoint (*store.Lake's metadata area) with
// conditional writes: a run writes the checkpoint only over the one it
// read.
type Meta interface {
	GetMetaVersion(ctx context.Context, name string) ([]byte, string, error)
	PutMetaIf(ctx context.Context, name string, data []byte, version string) (string, error)
}

// Collector runs the scheduled collection. The schedule serialises runs;
// of two that overlap anyway (one invoked by hand), the later to write its
// checkpoint fails (Meta's conditional write) and its work is redone. Run
// is not safe for concurrent use of one Collector.
type Collector struct {
	cfg      Config
	pipe     *pipeline.Pipeline // a slot's batch
	streamer *pipeline.Pipeline // large objects, each on its own
}

// New returns a Collector.
func New(cfg Config) (*Collector, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pipe, err := pipeline.New(pipeline.Config{Format: cfg.Format, Lake: cfg.Lake, Detector: cfg.Detector, Sink: cfg.Sink, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	streamer, err := pipeline.New(pipeline.Config{Format: cfg.Format, Sources: pipeline.WriteSources(prefixLake{cfg.Lake}),
		Detector: cfg.Detector, Sink: cfg.Sink, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, pipe: pipe, streamer: streamer}, nil
}

// Result is what one run did.
type Result struct {
	Slots       int   // settled slots done by this run, with or without objects
	Batches     int   // lake batches written: slots with objects, late batches
	Objects     int   // delivered objects ingested
	LateObjects int   // of them, objects with records of a slot done before
	Streamed    int   // of them, objects large enough to be stored on their own
	Skipped     int   // objects skipped: not flow logs, binary, cut short
	Waiting     int   // objects of slots not settled yet, left for a later run
	Records     int64 // records stored
	BadLines    int64 // rejected lines, skipped
	Bytes       int64 // flow-log bytes read (decompressed)
	Stored      int64 // bytes read from S3
	LakeObjects int
	LakeBytes   int64
	Alerts      []detect.Alert
	// Checkpoint is the size of the checkpoint written; Held counts the
	// records it holds for the next run (read, of a slot not done yet).
	Checkpoint int
	Held       int64
}

func (c *Collector) hook(step string) error {
	if c.cfg.Hook == nil {
		return nil
	}
	if err := c.cfg.Hook(step); err != nil {
		return fmt.Errorf("collect: %s: %w", step, err)
	}
	return nil
}

// Run does one collection. Its error means the run must be retried (the
// next scheduled run does that too); objects that are not flow logs are
// logged and skipped, not errors.
//
// A slot is the records that START in it, so that a slot's batch is one
// lake object (one hour partition) however late AWS delivers its last
// records: the run after a slot's end + Settle reads every object AWS
// named before then, stores the slot's records, and keeps the records of
// the next slot it read in the checkpoint (Result.Held), for the run that
// stores that slot. Records found later for a slot already done are a
// late batch of it.
func (c *Collector) Run(ctx context.Context) (Result, error) {
	var res Result
	now := c.cfg.Now()
	cp, mem, err := c.load(ctx)
	if err != nil {
		return res, err
	}
	if c.cfg.State != nil {
		c.cfg.State.use(mem)
	}
	if err := c.hook(StepRead); err != nil {
		return res, err
	}
	iv := int64(c.cfg.Interval / time.Second)
	held, err := decodeSlots(iv, cp.held)
	if err != nil {
		return res, err
	}
	defer held.release()
	late := newSlots(iv)
	defer late.release()
	from := now.Add(-c.cfg.Backfill)
	if cp.Done != 0 {
		from = time.Unix(cp.Done, 0).Add(-c.cfg.Lateness)
	}
	objs, err := c.list(ctx, from, now)
	if err != nil {
		return res, err
	}
	if err := c.hook(StepList); err != nil {
		return res, err
	}
	// Every listed day: an object there not ingested yet is ingested
	// now, however late. AWS names an object by the time its records
	// end: those named before a slot's end + Settle hold its records.
	oldest := dayStart(from)
	settled := c.slot(now.Add(-c.cfg.Settle - c.cfg.Interval)) // the last slot whose end + Settle ≤ now
	settle := int64(c.cfg.Settle / time.Second)
	cutoff := settled + iv + settle
	known := make(map[string]string, len(cp.Objects))
	for _, o := range cp.Objects {
		known[o.Key] = o.ETag
	}
	byDelivery := map[int64][]object{}
	for _, o := range objs {
		switch {
		case o.Slot < oldest || known[o.Key] == o.ETag:
		case o.At >= cutoff:
			res.Waiting++
		default:
			byDelivery[o.Slot] = append(byDelivery[o.Slot], o)
		}
	}
	deliveries := slices.Sorted(maps.Keys(byDelivery))
	if settled > cp.Done {
		if cp.Done == 0 {
			res.Slots = int((settled-c.slot(from))/iv) + 1
		} else {
			res.Slots = int((settled - cp.Done) / iv)
		}
	}
	run := &runState{cp: cp, held: held, late: late, lateKeys: map[int64][]string{}}
	written := time.Now()
	for i, d := range deliveries {
		if err := c.delivered(ctx, run, byDelivery[d], settled, &res); err != nil {
			return res, err
		}
		for _, o := range byDelivery[d] {
			cp.Objects = append(cp.Objects, seen{Key: o.Key, ETag: o.ETag, Slot: o.Slot})
		}
		// Every object named before d + iv is read: the slots that end
		// Settle before that are complete.
		if err := c.store(ctx, run, min(settled, c.slot(time.Unix(d-settle, 0))), &res); err != nil {
			return res, err
		}
		if err := c.hook(StepSlot); err != nil {
			return res, err
		}
		// A long run (a backfill, a run after an outage) keeps its
		// progress: a retry after a timeout goes on from here.
		if i < len(deliveries)-1 && time.Since(written) >= c.cfg.CheckpointEvery {
			if err := c.save(ctx, run, mem, &res); err != nil {
				return res, err
			}
			written = time.Now()
		}
	}
	if err := c.store(ctx, run, settled, &res); err != nil {
		return res, err
	}
	if err := c.save(ctx, run, mem, &res); err != nil {
		return res, err
	}
	return res, c.hook(StepWrite)
}

func dayStart(t time.Time) int64 { return t.UTC().Truncate(24 * time.Hour).Unix() }

// save writes the late batches, then the checkpoint with the records held,
// keeping the objects the next run's listing can return again (the days
// from Done - Lateness on).
func (c *Collector) save(ctx context.Context, run *runState, mem *detect.MemoryState, res *Result) error {
	if err := c.storeLate(ctx, run, res); err != nil {
		return err
	}
	cp := run.cp
	next := dayStart(time.Unix(cp.Done, 0).Add(-c.cfg.Lateness))
	cp.Objects = slices.DeleteFunc(cp.Objects, func(o seen) bool { return o.Slot < next })
	var err error
	if cp.held, err = run.held.encode(); err != nil {
		return err
	}
	if cp.state, err = mem.MarshalBinary(); err != nil {
		return err
	}
	cp.Seq++
	data, err := cp.encode()
	if err != nil {
		return err
	}
	v, err := c.cfg.Meta.PutMetaIf(ctx, CheckpointName, data, cp.version)
	if errors.Is(err, store.ErrConflict) {
		// Runs overlapped (an invocation by hand during the schedule's):
		// the other run's checkpoint stands, and the next run goes on
		// from it; this run's batches were written under the same ids.
		return fmt.Errorf("write checkpoint: another collector run wrote it since this run read it; the next run goes on from it: %w", err)
	}
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	cp.version = v
	res.Checkpoint = len(data)
	res.Held = run.held.rows()
	return nil
}

// load reads the checkpoint and restores its detector state; a missing
// checkpoint is the first run's.
func (c *Collector) load(ctx context.Context) (*checkpoint, *detect.MemoryState, error) {
	mem := detect.NewMemoryState()
	data, version, err := c.cfg.Meta.GetMetaVersion(ctx, CheckpointName)
	switch {
	case errors.Is(err, store.ErrNotExist):
		c.cfg.Logger.InfoContext(ctx, "no collector checkpoint: first run", "backfill", c.cfg.Backfill.String())
		return &checkpoint{}, mem, nil
	case err != nil:
		return nil, nil, fmt.Errorf("read checkpoint: %w", err)
	}
	cp, err := decodeCheckpoint(data)
	if err != nil {
		return nil, nil, err
	}
	if err := mem.UnmarshalBinary(cp.state); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCheckpoint, err)
	}
	cp.version = version
	return cp, mem, nil
}

// slotID names a slot in batch ids: 20261130T1400Z.
func slotID(s int64) string { return time.Unix(s, 0).UTC().Format(awsTimeLayout) }

// bigSlot is the flow-log text of one slot past which a run warns: its
// records (about 1.9 times the text in Arrow) and their Parquet crowd a
// 512 MB function.
const bigSlot = 100 << 20

// readers is how many objects a run reads at once: the requests' latency,
// not the parsing, bounds a run over small 5-minute files.
const readers = 4

// readAll reads the objects, readers at a time, and returns each one's
// records (retained) in the order of objs, so a retried run builds the
// same batches.
func (c *Collector) readAll(ctx context.Context, objs []object, res *Result) ([][]arrow.RecordBatch, error) {
	type result struct {
		recs []arrow.RecordBatch
		r    Result
		err  error
	}
	out := make([]result, len(objs))
	sem := make(chan struct{}, readers)
	var wg sync.WaitGroup
	for i, o := range objs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i].recs, out[i].err = c.read(ctx, o, &out[i].r)
		})
	}
	wg.Wait()
	recs := make([][]arrow.RecordBatch, len(out))
	var errs []error
	for i, r := range out {
		recs[i] = r.recs
		errs = append(errs, r.err)
		res.Objects += r.r.Objects
		res.Skipped += r.r.Skipped
		res.Bytes += r.r.Bytes
		res.Stored += r.r.Stored
		res.BadLines += r.r.BadLines
	}
	if err := errors.Join(errs...); err != nil {
		for _, rs := range recs {
			releaseAll(rs)
		}
		return nil, err
	}
	return recs, nil
}

// read returns one object's records (retained). An object that is not flow
// logs or is cut short is logged and skipped: none of its records are kept,
// so a retry decides the same; a failure to read it is returned.
func (c *Collector) read(ctx context.Context, o object, res *Result) ([]arrow.RecordBatch, error) {
	in, ok := source.S3Object(c.cfg.Objects, c.cfg.Bucket, o.Key, o.ETag, o.Size, source.Filter{})
	if !ok {
		return nil, nil
	}
	var recs []arrow.RecordBatch
	st, err := in.Read(ctx, source.ReadOptions{Format: c.cfg.Format}, func(rec arrow.RecordBatch) error {
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		for _, r := range recs {
			r.Release()
		}
		if isContentError(err) {
			res.Skipped++
			c.cfg.Logger.ErrorContext(ctx, "delivered object skipped: not readable flow logs", "object", in.Name, "err", err)
			return nil, nil
		}
		if isGone(err) {
			// Deleted since the listing, or replaced (a new ETag: the next
			// run lists it again and ingests it as a late batch).
			res.Skipped++
			c.cfg.Logger.ErrorContext(ctx, "delivered object skipped: gone or changed since it was listed", "object", in.Name, "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", in.Name, err)
	}
	res.Objects++
	res.Bytes += st.Bytes
	res.Stored += st.Stored
	res.BadLines += st.BadLines
	if st.BadLines > 0 {
		c.cfg.Logger.WarnContext(ctx, "rejected flow-log lines", "object", in.Name, "bad_lines", st.BadLines, "by_reason", st.BadByReason())
	}
	return recs, nil
}

// isGone tells an object deleted or replaced between the listing and the
// read (a run must not fail on it forever).
func isGone(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "NoSuchKey", "NotFound", "PreconditionFailed":
		return true
	}
	return false
}

// isContentError tells an object that is not flow logs or is damaged
// (reading it again cannot help) from a failure to read it.
func isContentError(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, source.ErrBinary) || errors.Is(err, source.ErrNoStart) || errors.Is(err, source.ErrNotFlowLogs) ||
		errors.Is(err, source.ErrTruncated) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &ce)
}
