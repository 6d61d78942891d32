package detect

import (
	"strings"

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
// Runs of one batch are deterministic for a given isNAT, so callers that
// number them (batchID#k) keep exactly-once processing.
func SkipNAT(rec arrow.RecordBatch, isNAT func(eni string) bool) ([]arrow.RecordBatch, int64) {
	n := int(rec.NumRows())
	eni := stringColumn(rec, parse.ColInterfaceID)
	typ := stringColumn(rec, colInterfaceType)
	res := stringColumn(rec, colResourceID)
	if eni == nil && typ == nil && res == nil || (isNAT == nil && typ == nil && res == nil) {
		rec.Retain()
		return []arrow.RecordBatch{rec}, 0
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
	nat := func(i int) bool {
		if typ != nil {
			if t, ok := typ(i); ok {
				for _, v := range natInterfaceTypes {
					if t == v {
						return true
					}
				}
			}
		}
		if res != nil {
			if r, ok := res(i); ok && strings.HasPrefix(r, "nat-") {
				return true
			}
		}
		if eni != nil && isNAT != nil {
			if e, ok := eni(i); ok {
				return natOf(e)
			}
		}
		return false
	}
	var runs []arrow.RecordBatch
	var dropped int64
	start := -1
	for i := 0; i < n; i++ {
		if nat(i) {
			dropped++
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
	if dropped == 0 {
		rec.Retain()
		return []arrow.RecordBatch{rec}, 0
	}
	if start >= 0 {
		runs = append(runs, rec.NewSlice(int64(start), int64(n)))
	}
	return runs, dropped
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
