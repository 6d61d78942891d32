package collect

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/pipeline"
)

// runState is what a run has read and not stored yet.
type runState struct {
	cp   *checkpoint
	held *slots // records of slots not done, from the checkpoint and the objects read
	late *slots // records of slots done before they were read
	// lateKeys names the objects late records came from, by slot.
	lateKeys map[int64][]string
}

// delivered reads one delivery slot's new objects: small ones into the
// run's slots, large ones streamed on their own.
func (c *Collector) delivered(ctx context.Context, run *runState, objs []object, settled int64, res *Result) error {
	small, big := c.split(objs)
	slices.SortFunc(small, func(a, b object) int { return strings.Compare(a.Key, b.Key) })
	before := res.Bytes
	perObject, err := c.readAll(ctx, small, res)
	if err != nil {
		return err
	}
	if n := res.Bytes - before; n > bigSlot {
		c.cfg.Logger.WarnContext(ctx, "a slot this large is held in memory for its one lake write: shorten the collect interval",
			"slot", slotID(objs[0].Slot), "bytes", n, "interval", c.cfg.Interval.String())
	}
	for i, recs := range perObject {
		isLate := false
		for _, r := range recs {
			run.held.split(r, settled, func(slot int64, part arrow.RecordBatch) {
				if slot <= run.cp.Done {
					run.late.add(slot, part)
					if ks := run.lateKeys[slot]; len(ks) == 0 || ks[len(ks)-1] != small[i].Key {
						run.lateKeys[slot] = append(ks, small[i].Key)
					}
					isLate = true
					return
				}
				run.held.add(slot, part)
			})
			r.Release()
		}
		if isLate {
			res.LateObjects++
		}
	}
	iv := int64(c.cfg.Interval / time.Second)
	for _, o := range big {
		if run.cp.Done != 0 && o.At < run.cp.Done+iv+int64(c.cfg.Settle/time.Second) {
			res.LateObjects++
			c.cfg.Logger.WarnContext(ctx, "object arrived after its slot was done: ingested late", "slot", slotID(o.Slot),
				"object", "s3://"+c.cfg.Bucket+"/"+o.Key)
		}
		if err := c.stream(ctx, o, res); err != nil {
			return err
		}
	}
	return nil
}

// store writes the held records of the slots up to last, one batch each
// ("collect/<slot>"), in order; the slots up to last are done.
func (c *Collector) store(ctx context.Context, run *runState, last int64, res *Result) error {
	if last <= run.cp.Done {
		return nil
	}
	due := run.held.take(last)
	defer func() {
		for _, recs := range due {
			releaseAll(recs)
		}
	}()
	for _, sl := range slices.Sorted(maps.Keys(due)) {
		if sl <= run.cp.Done { // records without a start, held at a slot done since
			run.late.recs[run.cp.Done] = append(run.late.recs[run.cp.Done], due[sl]...)
			delete(due, sl)
			continue
		}
		if err := c.batch(ctx, "collect/"+slotID(sl), sl, due[sl], res); err != nil {
			return err
		}
		run.cp.Done = sl
	}
	run.cp.Done = last
	return nil
}

// storeLate writes the records read for slots done before, one batch per
// slot named by the checkpoint's Seq ("collect/<slot>/late/<seq>"), so a
// retried run rewrites them.
func (c *Collector) storeLate(ctx context.Context, run *runState, res *Result) error {
	due := run.late.take(math.MaxInt64)
	defer func() {
		for _, recs := range due {
			releaseAll(recs)
		}
	}()
	for _, sl := range slices.Sorted(maps.Keys(due)) {
		id := "collect/" + slotID(sl) + "/late/" + strconv.FormatInt(run.cp.Seq, 10)
		keys := run.lateKeys[sl]
		first := ""
		if len(keys) > 0 {
			first = "s3://" + c.cfg.Bucket + "/" + keys[0]
		}
		c.cfg.Logger.WarnContext(ctx, "records arrived after their slot was done: ingested as a late batch",
			"slot", slotID(sl), "objects", len(keys), "first", first, "batch", id)
		if err := c.batch(ctx, id, sl, due[sl], res); err != nil {
			return err
		}
		delete(run.lateKeys, sl)
	}
	return nil
}

// batch runs one slot's records through the pipeline as one batch.
func (c *Collector) batch(ctx context.Context, id string, slot int64, recs []arrow.RecordBatch, res *Result) error {
	r, err := c.pipe.Process(ctx, pipeline.Batch{ID: id, Source: "s3://" + c.cfg.Bucket + "/" + c.cfg.Prefix + " " + slotID(slot), Records: recs})
	if err != nil {
		return err
	}
	res.Batches++
	res.Records += r.Records
	res.LakeObjects += len(r.Objects)
	res.LakeBytes += r.LakeBytes
	res.Alerts = append(res.Alerts, r.Alerts...)
	return nil
}
