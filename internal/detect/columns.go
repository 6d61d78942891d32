package detect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/flowq/flowq/internal/parse"
)

// Columns are read through two small, inlinable views bound once per batch.
// utf8 and int64 columns (what parse produces) and dictionaries of utf8
// values with int32 indices (what the lake holds, store.ScanOptions) are read
// in place; other string and integer types (large_utf8, string_view, other
// dictionaries, int16, ... from Parquet or DuckDB) are first converted into
// scratch buffers that the Engine reuses.

// ErrColumns is wrapped by Process's errors about a record batch whose
// columns the detectors cannot use: srcaddr, dstaddr or start missing, or a
// column of an unusable type. Retrying the batch cannot help; check the
// flow-log format.
var ErrColumns = errors.New("unusable columns")

// strCol is a string column. The zero strCol is a missing column: every
// value is null.
type strCol struct {
	data  string  // every value's bytes
	offs  []int32 // value offsets into data, len n+1 (or dictionary size+1)
	idx   []int32 // dictionary: row i's value is entry idx[i]; nil if plain
	nulls []byte  // validity bitmap, nil if no nulls
	off   int     // bit offset of the array in nulls
	ok    bool
}

// IsValid reports whether row i has a value.
func (c *strCol) IsValid(i int) bool {
	if c.nulls == nil {
		return c.ok
	}
	j := c.off + i
	return c.nulls[j>>3]&(1<<(j&7)) != 0
}

// Value returns row i (valid rows only).
func (c *strCol) Value(i int) string {
	if c.idx != nil {
		i = int(c.idx[i])
	}
	o := c.offs[i : i+2 : i+2]
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(c.data)), o[0])), o[1]-o[0])
}

// entries returns the number of distinct values of a dictionary column
// (0 for a plain one): entry k is c.entry(k).
func (c *strCol) entries() int {
	if c.idx == nil {
		return 0
	}
	return len(c.offs) - 1
}

// entry returns the dictionary's value k.
func (c *strCol) entry(k int) string {
	o := c.offs[k : k+2 : k+2]
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(c.data)), o[0])), o[1]-o[0])
}

// intCol is an integer column of any width, read as int64: int64 and int32
// in place, other widths converted. The zero intCol is a missing column.
type intCol struct {
	v     []int64
	v32   []int32
	nulls []byte
	off   int
	ok    bool
}

func (c *intCol) valid(i int) bool {
	if c.nulls == nil {
		return c.ok
	}
	j := c.off + i
	return c.nulls[j>>3]&(1<<(j&7)) != 0
}

// get returns row i, or 0 when the row is null or the column missing.
func (c *intCol) get(i int) int64 {
	if !c.valid(i) {
		return 0
	}
	return c.value(i)
}

func (c *intCol) value(i int) int64 {
	if c.v32 != nil {
		return int64(c.v32[i])
	}
	return c.v[i]
}

// columns binds the columns the detectors read, by name, once per batch.
type columns struct {
	status, action, src, dst, pktSrc, pktDst, dstSvc, dir, eni strCol
	start, end, bytes, packets, srcPort, dstPort, proto, flags intCol
}

// scratch holds converted columns between batches.
type scratch struct {
	ints [][]int64
	strs [][]byte
	offs [][]int32
}

func (s *scratch) reset() {
	s.ints, s.strs, s.offs = s.ints[:0], s.strs[:0], s.offs[:0]
}

func (s *scratch) int64s(n int) []int64 {
	if len(s.ints) < cap(s.ints) {
		s.ints = s.ints[:len(s.ints)+1]
	} else {
		s.ints = append(s.ints, nil)
	}
	b := &s.ints[len(s.ints)-1]
	if cap(*b) < n {
		*b = make([]int64, n)
	}
	*b = (*b)[:n]
	return *b
}

func bindColumns(rec arrow.RecordBatch, sc *scratch) (columns, error) {
	var c columns
	schema := rec.Schema()
	n := int(rec.NumRows())
	str := func(name string) (strCol, error) {
		idx := schema.FieldIndices(name)
		if len(idx) == 0 {
			return strCol{}, nil
		}
		arr := rec.Column(idx[0])
		out := strCol{ok: true}
		if arr.NullN() > 0 {
			out.nulls, out.off = arr.NullBitmapBytes(), arr.Data().Offset()
		}
		switch a := arr.(type) {
		case *array.String:
			out.offs, out.data = plainStrings(a)
			return out, nil
		case *array.Dictionary:
			d, okd := a.Dictionary().(*array.String)
			ix, oki := a.Indices().(*array.Int32)
			if okd && oki && d.NullN() == 0 {
				out.offs, out.data = plainStrings(d)
				out.idx = ix.Int32Values()
				return out, nil
			}
		}
		switch a := arr.(type) {
		case *array.LargeString, *array.StringView, *array.Dictionary:
			get, ok := stringGetter(a)
			if !ok {
				break
			}
			var data []byte
			offs := make([]int32, n+1)
			for i := range n {
				if arr.IsValid(i) {
					data = append(data, get(i)...)
				}
				offs[i+1] = int32(len(data))
			}
			out.data, out.offs = string(data), offs
			return out, nil
		}
		return strCol{}, fmt.Errorf("%w: column %s: type %s, want a string", ErrColumns, name, arr.DataType())
	}
	num := func(name string) (intCol, error) {
		idx := schema.FieldIndices(name)
		if len(idx) == 0 {
			return intCol{}, nil
		}
		arr := rec.Column(idx[0])
		out := intCol{ok: true}
		if arr.NullN() > 0 {
			out.nulls, out.off = arr.NullBitmapBytes(), arr.Data().Offset()
		}
		if a, ok := arr.(*array.Int64); ok {
			out.v = a.Int64Values()
			return out, nil
		}
		if a, ok := arr.(*array.Int32); ok {
			out.v32 = a.Int32Values()
			return out, nil
		}
		var get func(int) int64
		switch a := arr.(type) {
		case *array.Int16:
			get = func(i int) int64 { return int64(a.Value(i)) }
		case *array.Int8:
			get = func(i int) int64 { return int64(a.Value(i)) }
		case *array.Uint8:
			get = func(i int) int64 { return int64(a.Value(i)) }
		case *array.Uint16:
			get = func(i int) int64 { return int64(a.Value(i)) }
		case *array.Uint32:
			get = func(i int) int64 { return int64(a.Value(i)) }
		case *array.Uint64:
			get = func(i int) int64 { return int64(a.Value(i)) }
		default:
			return intCol{}, fmt.Errorf("%w: column %s: type %s, want an integer", ErrColumns, name, arr.DataType())
		}
		out.v = sc.int64s(n)
		for i := range out.v {
			out.v[i] = get(i)
		}
		return out, nil
	}
	var err error
	for _, s := range []struct {
		dst  *strCol
		name string
	}{
		{&c.status, parse.ColLogStatus}, {&c.action, parse.ColAction}, {&c.src, parse.ColSrcAddr},
		{&c.dst, parse.ColDstAddr}, {&c.pktSrc, parse.ColPktSrcAddr}, {&c.pktDst, parse.ColPktDstAddr},
		{&c.dstSvc, parse.ColPktDstAWSService}, {&c.dir, parse.ColFlowDirection}, {&c.eni, parse.ColInterfaceID},
	} {
		if *s.dst, err = str(s.name); err != nil {
			return c, err
		}
	}
	for _, f := range []struct {
		dst  *intCol
		name string
	}{
		{&c.start, parse.ColStart}, {&c.end, parse.ColEnd}, {&c.bytes, parse.ColBytes}, {&c.packets, parse.ColPackets},
		{&c.srcPort, parse.ColSrcPort}, {&c.dstPort, parse.ColDstPort}, {&c.proto, parse.ColProtocol},
		{&c.flags, parse.ColTCPFlags},
	} {
		if *f.dst, err = num(f.name); err != nil {
			return c, err
		}
	}
	if !c.src.ok || !c.dst.ok || !c.start.ok {
		return c, fmt.Errorf("%w: record batch lacks %s, %s or %s: nothing to detect on", ErrColumns, parse.ColSrcAddr, parse.ColDstAddr, parse.ColStart)
	}
	return c, nil
}

// plainStrings returns a utf8 array's value offsets and bytes, in place.
func plainStrings(a *array.String) ([]int32, string) {
	var data string
	if bufs := a.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		b := bufs[2].Bytes()
		data = unsafe.String(unsafe.SliceData(b), len(b))
	}
	return a.ValueOffsets(), data
}

// stringGetter reads the other string encodings.
func stringGetter(arr arrow.Array) (func(int) string, bool) {
	switch a := arr.(type) {
	case *array.LargeString:
		return a.Value, true
	case *array.StringView:
		return a.Value, true
	case *array.Dictionary:
		d, ok := a.Dictionary().(*array.String)
		if !ok {
			return nil, false
		}
		return func(i int) string { return d.Value(a.GetValueIndex(i)) }, true
	}
	return nil, false
}

// Columns returns the names of the columns the detectors read (SkipNAT's
// interface-type and resource-id included), strings first; a record batch
// may lack any but srcaddr, dstaddr and start.
func Columns() (strings, integers []string) {
	return []string{parse.ColLogStatus, parse.ColAction, parse.ColSrcAddr, parse.ColDstAddr, parse.ColPktSrcAddr, parse.ColPktDstAddr,
			parse.ColPktDstAWSService, parse.ColFlowDirection, parse.ColInterfaceID, colInterfaceType, colResourceID},
		[]string{parse.ColStart, parse.ColEnd, parse.ColBytes, parse.ColPackets, parse.ColSrcPort, parse.ColDstPort, parse.ColProtocol, parse.ColTCPFlags}
}

// coreMask returns a bitmap over the batch's rows, bit i set when every core
// column (start, end, srcaddr, dstaddr, srcport, dstport, protocol,
// packets, bytes, action) is present and valid at row i: the hot loop then
// skips their validity checks. buf is reused.
func coreMask(c *columns, n int, buf *[]uint64) []uint64 {
	words := (n + 63) / 64
	if cap(*buf) < words {
		*buf = make([]uint64, words)
	}
	m := (*buf)[:words]
	for w := range m {
		m[w] = ^uint64(0)
	}
	and := func(ok bool, nulls []byte, off int) {
		switch {
		case !ok:
			clear(m)
		case nulls == nil:
		case off%8 == 0:
			nb := nulls[off/8:]
			full := min(len(m), len(nb)/8) // words whose 8 bitmap bytes are all there
			for w := range full {
				m[w] &= binary.LittleEndian.Uint64(nb[w*8:])
			}
			for w := full; w < len(m); w++ {
				var v uint64
				for k := 0; k < 8 && w*8+k < len(nb); k++ {
					v |= uint64(nb[w*8+k]) << (8 * k)
				}
				m[w] &= v
			}
		default:
			for i := range n {
				j := off + i
				if nulls[j>>3]&(1<<(j&7)) == 0 {
					m[i>>6] &^= 1 << (i & 63)
				}
			}
		}
	}
	for _, s := range []*strCol{&c.src, &c.dst, &c.action} {
		and(s.ok, s.nulls, s.off)
	}
	for _, x := range []*intCol{&c.start, &c.end, &c.srcPort, &c.dstPort, &c.proto, &c.packets, &c.bytes} {
		and(x.ok, x.nulls, x.off)
	}
	return m
}
