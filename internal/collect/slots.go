package collect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/flowq/flowq/internal/parse"
)

// slots holds a run's records by the slot of their start time until the
// slot is stored (retained slices of the records read). Records without a
// usable start go with the earliest slot not done, whose lake write counts
// them as rejected.
type slots struct {
	iv   int64 // slot length, seconds
	recs map[int64][]arrow.RecordBatch
}

func newSlots(iv int64) *slots { return &slots{iv: iv, recs: map[int64][]arrow.RecordBatch{}} }

// split splits rec (not released) by the slot of each record's start into
// runs of consecutive records and calls put with each slot and retained
// slice; nostart is the slot of records without a start.
func (s *slots) split(rec arrow.RecordBatch, nostart int64, put func(slot int64, part arrow.RecordBatch)) {
	n := rec.NumRows()
	if n == 0 {
		return
	}
	idx := rec.Schema().FieldIndices(parse.ColStart)
	var col *array.Int64
	if len(idx) == 1 {
		col, _ = rec.Column(idx[0]).(*array.Int64)
	}
	slotAt := func(i int64) int64 {
		if col == nil || col.IsNull(int(i)) || col.Value(int(i)) < 0 {
			return nostart
		}
		v := col.Value(int(i))
		return v - v%s.iv
	}
	from, cur := int64(0), slotAt(0)
	for i := int64(1); i < n; i++ {
		if sl := slotAt(i); sl != cur {
			put(cur, rec.NewSlice(from, i))
			from, cur = i, sl
		}
	}
	put(cur, rec.NewSlice(from, n))
}

// add keeps part (retained by the caller) under slot.
func (s *slots) add(slot int64, part arrow.RecordBatch) { s.recs[slot] = append(s.recs[slot], part) }

// take removes and returns the records of the slots up to last, by slot.
func (s *slots) take(last int64) map[int64][]arrow.RecordBatch {
	out := map[int64][]arrow.RecordBatch{}
	for sl, recs := range s.recs {
		if sl <= last {
			out[sl] = recs
			delete(s.recs, sl)
		}
	}
	return out
}

// rows counts the records held.
func (s *slots) rows() int64 {
	var n int64
	for _, recs := range s.recs {
		for _, r := range recs {
			n += r.NumRows()
		}
	}
	return n
}

func (s *slots) release() {
	for _, recs := range s.recs {
		releaseAll(recs)
	}
	clear(s.recs)
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// encode returns the records held, for the checkpoint: for each record
// batch, its length (uvarint) and an Arrow IPC stream holding it alone
// (batches may differ in schema and dictionaries), in slot order.
func (s *slots) encode() ([]byte, error) {
	var out, buf bytes.Buffer
	for _, sl := range slices.Sorted(maps.Keys(s.recs)) {
		for _, r := range s.recs[sl] {
			buf.Reset()
			w := ipc.NewWriter(&buf, ipc.WithSchema(r.Schema()))
			if err := w.Write(r); err != nil {
				return nil, fmt.Errorf("records held for the next run: %w", err)
			}
			if err := w.Close(); err != nil {
				return nil, fmt.Errorf("records held for the next run: %w", err)
			}
			out.Write(binary.AppendUvarint(nil, uint64(buf.Len())))
			out.Write(buf.Bytes())
		}
	}
	return out.Bytes(), nil
}

// decodeSlots restores the records encode wrote.
func decodeSlots(iv int64, data []byte) (*slots, error) {
	s := newSlots(iv)
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > uint64(len(data)-k) {
			s.release()
			return nil, fmt.Errorf("%w: records held: bad length", errCheckpoint)
		}
		r, err := ipc.NewReader(bytes.NewReader(data[k : k+int(n)]))
		if err != nil {
			s.release()
			return nil, fmt.Errorf("%w: records held: %w", errCheckpoint, err)
		}
		for r.Next() {
			rec := r.RecordBatch()
			s.split(rec, -1, func(slot int64, part arrow.RecordBatch) { s.add(slot, part) })
		}
		err = r.Err()
		r.Release()
		if err != nil {
			s.release()
			return nil, fmt.Errorf("%w: records held: %w", errCheckpoint, err)
		}
		data = data[k+int(n):]
	}
	return s, nil
}
