package parse

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// column accumulates one field's values straight into Arrow buffers. The
// validity bitmap starts all-valid; only nulls clear a bit, and undo sets it
// back for the row being overwritten. String offsets are written as values
// arrive: offsets[row] is where the row's bytes begin, so a rejected row is
// simply overwritten by the next one.
type column struct {
	kind   Kind
	check  valueCheck
	millis bool // start or end: a value past maxEpochSeconds is milliseconds
	max    uint64
	i32    []int32 // int32 values, or int32 offsets for strings
	i64    []int64
	bytes  []byte // string data: the whole capacity of data
	bits   []byte

	field  Field
	valid  *memory.Buffer
	values *memory.Buffer
	data   *memory.Buffer
	rows   int // capacity in rows, for sizing string data
}

func (c *column) reserve(mem memory.Allocator, rows int) {
	if c.valid == nil {
		c.valid = memory.NewResizableBuffer(mem)
		c.values = memory.NewResizableBuffer(mem)
	}
	oldBits := c.valid.Len()
	nb := int(bitutil.BytesForBits(int64(rows)))
	c.valid.Resize(nb)
	c.bits = c.valid.Bytes()
	for i := oldBits; i < nb; i++ {
		c.bits[i] = 0xff
	}
	c.rows = rows
	switch c.kind {
	case Int32:
		c.values.Resize(rows * 4)
		c.i32 = arrow.Int32Traits.CastFromBytes(c.values.Bytes())
	case Int64:
		c.values.Resize(rows * 8)
		c.i64 = arrow.Int64Traits.CastFromBytes(c.values.Bytes())
	default:
		c.values.Resize((rows + 1) * 4)
		c.i32 = arrow.Int32Traits.CastFromBytes(c.values.Bytes())
		if c.data == nil {
			c.data = memory.NewResizableBuffer(mem)
			c.i32[0] = 0
			c.data.Reserve(rows * 16)
			c.bytes = c.data.Buf()
		}
	}
}

func (c *column) setNull(row int) {
	c.bits[row>>3] &^= 1 << (row & 7)
	switch c.kind {
	case Int32:
		c.i32[row] = 0
	case Int64:
		c.i64[row] = 0
	default:
		c.i32[row+1] = c.i32[row]
	}
}

// appendString copies line[start:end] as the row's value and returns the OR
// of the bytes it read (for the caller's non-ASCII check). Short values are
// copied eight bytes at a time, which may write past the value inside the
// buffer's spare capacity; the next value overwrites it.
func (c *column) appendString(row int, line []byte, start, end int) uint64 {
	off := int(c.i32[row])
	n := end - start
	if need := off + n + 8; need > len(c.bytes) {
		// Grow to what the rows so far predict for the whole capacity.
		perRow := need/(row+1) + 1
		c.data.Reserve(max(need+64, perRow*c.rows*9/8))
		c.bytes = c.data.Buf()
	}
	c.i32[row+1] = int32(off + n)
	var hi uint64
	if start+(n+7)&^7 <= len(line) {
		dst := c.bytes[off:]
		for k := 0; k < n; k += 8 {
			w := binary.LittleEndian.Uint64(line[start+k:])
			hi |= w
			binary.LittleEndian.PutUint64(dst[k:], w)
		}
		return hi
	}
	copy(c.bytes[off:], line[start:end])
	if !isASCII(line[start:end]) {
		hi = 0x80
	}
	return hi
}

func (c *column) isValid(row int) bool { return c.bits[row>>3]&(1<<(row&7)) != 0 }

// undo forgets what a rejected line wrote into row.
func (c *column) undo(row int) {
	if c.bits != nil {
		c.bits[row>>3] |= 1 << (row & 7)
	}
}

// array hands the buffers to an Arrow array and starts afresh.
func (c *column) array(rows int) arrow.Array {
	nulls := rows - bitutil.CountSetBits(c.bits, 0, rows)
	valid := c.valid
	if nulls == 0 {
		valid = nil
	}
	var data arrow.ArrayData
	switch c.kind {
	case Int32, Int64:
		data = array.NewData(c.kind.DataType(), rows, []*memory.Buffer{valid, c.values}, nil, nulls, 0)
	default:
		c.data.ResizeNoShrink(int(c.i32[rows]))
		data = array.NewData(arrow.BinaryTypes.String, rows, []*memory.Buffer{valid, c.values, c.data}, nil, nulls, 0)
	}
	arr := array.MakeFromData(data)
	data.Release()
	c.release()
	return arr
}

func (c *column) release() {
	for _, b := range []*memory.Buffer{c.valid, c.values, c.data} {
		if b != nil {
			b.Release()
		}
	}
	*c = column{field: c.field, kind: c.kind, check: c.check, max: c.max, millis: c.millis}
}
