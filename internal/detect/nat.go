package detect

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/flowq/flowq/internal/parse"
)

// NAT-aware attribution. A transfer through a NAT gateway or NAT instance
// is logged twice: on the instance's own interface (10.0.1.5 →
// 203.0.113.5) and on the NAT's interface, as the leg from the instance to
// the NAT (10.0.1.5 → 10.0.0.220; with pkt-dstaddr, 10.0.1.5 →
// 203.0.113.5 again) and the translated leg (10.0.0.220 → 203.0.113.5).
// Judged as they are, the same bytes raise a second exfiltration alert
// from the NAT's own address (default format) or count twice (pkt-*
// fields). The records on NAT interfaces stand for the hosts behind the
// NAT, whose own interfaces logged the same flows, so they are left out of
// detection: one alert, from the instance, for one transfer.

// Values of interface-type (flow-log version 11) that mark a NAT.
var natInterfaceTypes = []string{"nat_gateway", "regional_nat_gateway"}

// colInterfaceType and colResourceID are the columns of interface-type
// (version 11) and resource-id (version 9).
var (
	colInterfaceType = parse.ColumnName("interface-type")
	colResourceID    = parse.ColumnName("resource-id")
)

// SkipNAT splits rec into the runs of records not logged on a NAT
// interface: those whose interface-type is a NAT gateway's, whose
// resource-id is a regional NAT gateway (nat-…, interface-id "-"), or whose
// interface-id isNAT reports (nil: only the first two tests). It returns
// the runs, each a slice of rec the caller must Release (rec itself,
// retained, when nothing is left out), and the number of records left out.
// Contextual leaves them out in place instead (natRows).
func SkipNAT(rec arrow.RecordBatch, isNAT func(eni string) bool) ([]arrow.RecordBatch, int64) {
	drop, dropped := natRows(rec, isNAT, nil)
	if drop == nil {
		rec.Retain()
		return []arrow.RecordBatch{rec}, 0
	}
	var runs []arrow.RecordBatch
	n := int(rec.NumRows())
	start := -1
	for i := range n {
		if drop[i>>6]>>(i&63)&1 != 0 {
			if start >= 0 {
				runs = append(runs, rec.NewSlice(int64(start), int64(i)))
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		runs = append(runs, rec.NewSlice(int64(start), int64(n)))
	}
	return runs, dropped
}

// natRows returns a bitmap over rec's rows with the records logged on a NAT
// interface set (SkipNAT's tests), nil when there are none, and their
// number. list, when not nil, is every interface isNAT reports, so the
// interface IDs are compared with it in place (isNAT is not called).
func natRows(rec arrow.RecordBatch, isNAT func(eni string) bool, list []string) ([]uint64, int64) {
	n := int(rec.NumRows())
	typ := stringColumn(rec, colInterfaceType)
	res := stringColumn(rec, colResourceID)
	var drop []uint64 // nil until a record is left out
	var dropped int64
	mark := func(i int) {
		if drop == nil {
			drop = make([]uint64, (n+63)/64)
		}
		if w, b := &drop[i>>6], uint64(1)<<(i&63); *w&b == 0 {
			*w |= b
			dropped++
		}
	}
	if typ != nil {
		for i := range n {
			if t, ok := typ(i); ok && isNATType(t) {
				mark(i)
			}
		}
	}
	if res != nil {
		for i := range n {
			if r, ok := res(i); ok && strings.HasPrefix(r, "nat-") {
				mark(i)
			}
		}
	}
	if list != nil {
		markListed(rec, list, isNAT, mark)
	} else if isNAT != nil {
		markNAT(rec, isNAT, mark)
	}
	return drop, dropped
}

func isNATType(t string) bool {
	for _, v := range natInterfaceTypes {
		if t == v {
			return true
		}
	}
	return false
}

// markListed marks the records whose interface-id is in list: in place, by
// the last 8 bytes of each ID then the whole, on a plain string column (one
// pass, no call per record); once per entry on a dictionary (the lake's
// encoding); through isNAT on other encodings.
func markListed(rec arrow.RecordBatch, list []string, isNAT func(string) bool, mark func(int)) {
	if len(list) == 0 {
		return
	}
	idx := rec.Schema().FieldIndices(parse.ColInterfaceID)
	if len(idx) == 0 {
		return
	}
	switch a := rec.Column(idx[0]).(type) {
	case *array.String:
		tab := newTailTable(list)
		offs, data := a.ValueOffsets(), a.ValueBytes()
		for i := range a.Len() {
			v := data[offs[i]:offs[i+1]]
			var t uint64
			if len(v) >= 8 {
				t = binary.BigEndian.Uint64(v[len(v)-8:])
			} else {
				t = tail8(string(v))
			}
			if tab.has(t, v) && a.IsValid(i) {
				mark(i)
			}
		}
		return
	case *array.Dictionary:
		if d, ok := a.Dictionary().(*array.String); ok {
			listed := make([]bool, d.Len())
			anyListed := false
			for k := range d.Len() {
				listed[k] = d.IsValid(k) && slices.Contains(list, d.Value(k))
				anyListed = anyListed || listed[k]
			}
			if !anyListed {
				return
			}
			for i := range a.Len() {
				if a.IsValid(i) && listed[a.GetValueIndex(i)] {
					mark(i)
				}
			}
			return
		}
	}
	if isNAT != nil {
		markNAT(rec, isNAT, mark)
	}
}

// tailTable finds interface IDs by their last 8 bytes (tail8), in one
// probe whatever their number (a snapshot of many VPCs lists many NAT
// interfaces): open addressing, sixteen times as many slots as IDs (64 at
// least), so that a record's ID rarely meets a listed one's slot.
type tailTable struct {
	tails []uint64
	ids   []string
	slots []int32 // index+1 in ids, 0 for none
	shift uint
}

func newTailTable(ids []string) tailTable {
	b := max(6, uint(bits.Len(uint(16*len(ids)))))
	t := tailTable{ids: ids, tails: make([]uint64, len(ids)), slots: make([]int32, 1<<b), shift: 64 - b}
	for k, id := range ids {
		t.tails[k] = tail8(id)
		h := t.slot(t.tails[k])
		for t.slots[h] != 0 {
			h = (h + 1) & uint64(len(t.slots)-1)
		}
		t.slots[h] = int32(k + 1)
	}
	return t
}

func (t *tailTable) slot(tail uint64) uint64 { return tail * 0x9e3779b97f4a7c15 >> t.shift }

// has tells whether v, whose tail8 is tail, is one of the IDs.
func (t *tailTable) has(tail uint64, v []byte) bool {
	for h := t.slot(tail); t.slots[h] != 0; h = (h + 1) & uint64(len(t.slots)-1) {
		if k := t.slots[h] - 1; t.tails[k] == tail && string(v) == t.ids[k] {
			return true
		}
	}
	return false
}

// markNAT marks the records whose interface-id isNAT reports, asking once
// per distinct ID.
func markNAT(rec arrow.RecordBatch, isNAT func(string) bool, mark func(int)) {
	eni := stringColumn(rec, parse.ColInterfaceID)
	if eni == nil {
		return
	}
	// The interfaces seen so far and their answers, found by the last 8
	// bytes of the ID (cheaper to hash than the string; the full ID is
	// compared on a hit).
	type seen struct {
		eni string
		nat bool
	}
	byTail := map[uint64]seen{}
	other := map[string]bool{} // IDs sharing a tail with an earlier one
	natOf := func(e string) bool {
		t := tail8(e)
		if s, ok := byTail[t]; ok {
			if s.eni == e {
				return s.nat
			}
			if v, ok := other[e]; ok {
				return v
			}
			v := isNAT(e)
			other[strings.Clone(e)] = v
			return v
		}
		v := isNAT(e)
		byTail[t] = seen{strings.Clone(e), v}
		return v
	}
	for i := range int(rec.NumRows()) {
		if e, ok := eni(i); ok && natOf(e) {
			mark(i)
		}
	}
}

// stringColumn returns a reader of a string column (any encoding parse,
// Parquet or DuckDB produce), or nil when rec has no such column.
func stringColumn(rec arrow.RecordBatch, name string) func(int) (string, bool) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	arr := rec.Column(idx[0])
	get, ok := func(int) string { return "" }, false
	if a, isStr := arr.(*array.String); isStr {
		get, ok = a.Value, true
	} else {
		get, ok = stringGetter(arr)
	}
	if !ok {
		return nil
	}
	return func(i int) (string, bool) {
		if arr.IsNull(i) {
			return "", false
		}
		return get(i), true
	}
}

// tail8 packs the last 8 bytes of s (fewer when shorter) into an integer.
func tail8(s string) uint64 {
	var t uint64
	for i := max(0, len(s)-8); i < len(s); i++ {
		t = t<<8 | uint64(s[i])
	}
	return t
}

// startSpan returns the earliest and the latest start time of rec's
// records, or zero times when it has no valid one.
func startSpan(rec arrow.RecordBatch) (time.Time, time.Time) {
	idx := rec.Schema().FieldIndices(parse.ColStart)
	if len(idx) == 0 {
		return time.Time{}, time.Time{}
	}
	lo, hi, found := int64(math.MaxInt64), int64(math.MinInt64), false
	see := func(v int64) {
		lo, hi, found = min(lo, v), max(hi, v), true
	}
	switch a := rec.Column(idx[0]).(type) {
	case *array.Int64:
		if v := a.Int64Values(); a.NullN() == 0 && len(v) > 0 {
			see(slices.Min(v))
			see(slices.Max(v))
			break
		}
		for i := range a.Len() {
			if a.IsValid(i) {
				see(a.Value(i))
			}
		}
	case *array.Int32:
		for i := range a.Len() {
			if a.IsValid(i) {
				see(int64(a.Value(i)))
			}
		}
	}
	if !found {
		return time.Time{}, time.Time{}
	}
	return time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC()
}
