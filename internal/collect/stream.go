package collect

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/store"
)

// DefaultStreamBytes is Config.StreamBytes's default: a delivered object
// this large (as stored, gzip) holds some 8 MB of text, so a slot's batch
// of an hour's 5-minute files holds about 100 MB at most.
const DefaultStreamBytes = 1 << 20

// split separates the objects a slot's one batch holds in memory from
// those streamed on their own (at least StreamBytes as listed). It depends
// on each object alone, so a retry with more objects splits the same way.
func (c *Collector) split(objs []object) (small, big []object) {
	for _, o := range objs {
		if c.cfg.StreamBytes > 0 && o.Size >= c.cfg.StreamBytes {
			big = append(big, o)
		} else {
			small = append(small, o)
		}
	}
	return small, big
}

// prefixLake names a streamed object's lake batches collect/<identity>#n.
type prefixLake struct{ l pipeline.Lake }

func (p prefixLake) Write(ctx context.Context, id string, recs []arrow.RecordBatch) (store.WriteResult, error) {
	return p.l.Write(ctx, "collect/"+id, recs)
}

// stream stores one large object through pipeline.Ingest in bounded
// memory: its records go to the lake in chunks named by its identity
// (AWS's name and ETag), so a retry rewrites the same chunks, then are read
// again for the detectors. Not flow logs, cut short, gone: logged and
// skipped, as in read.
func (c *Collector) stream(ctx context.Context, o object, res *Result) error {
	in, ok := source.S3Object(c.cfg.Objects, c.cfg.Bucket, o.Key, o.ETag, o.Size, source.Filter{})
	if !ok {
		return nil
	}
	return c.streamer.Ingest(ctx, []*source.Input{in}, pipeline.InputOptions{Read: source.ReadOptions{Format: c.cfg.Format}},
		func(r pipeline.InputResult) error {
			switch {
			case r.Err != nil && (isContentError(r.Err) || isGone(r.Err)):
				res.Skipped++
				c.cfg.Logger.ErrorContext(ctx, "delivered object skipped: not readable flow logs, gone or changed", "object", in.Name, "err", r.Err)
				return nil
			case r.Err != nil:
				return fmt.Errorf("read %s: %w", in.Name, r.Err)
			}
			res.Objects++
			res.Streamed++
			res.Records += r.Stats.Records
			res.Bytes += r.Stats.Bytes
			res.Stored += r.Stats.Stored
			res.BadLines += r.Stats.BadLines
			res.LakeObjects += r.Objects
			res.LakeBytes += r.LakeBytes
			res.Alerts = append(res.Alerts, r.Alerts...)
			if r.Stats.BadLines > 0 {
				c.cfg.Logger.WarnContext(ctx, "rejected flow-log lines", "object", in.Name, "bad_lines", r.Stats.BadLines, "by_reason", r.Stats.BadByReason())
			}
			return nil
		})
}
