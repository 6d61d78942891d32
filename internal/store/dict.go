package store

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Dictionary encoding of the columns of one object. pqarrow writes a
// dictionary array's dictionary and indices directly; letting it hash each
// value instead costs several times more (its byte-array memo table
// allocates per value, and its integer one is a general hash table).
// The codes are assigned in order of first appearance.

// dictScratch is the hash table the encoders share; a Lake keeps a few
// (sync.Pool) so that a warm Lambda does not grow them again per batch.
type dictScratch struct {
	slots []int32 // integer table: code+1 per slot; 0 is empty
	strs  []strSlot
	offs  []int32 // string dictionary: value offsets
	data  []byte  // string dictionary: value bytes
	i32   []int32 // int32 dictionary values
	i64   []int64 // int64 dictionary values
	perm  []int32 // clusterRows: row order
	tmp   []int32
	cnt   []int32
}

// resetSlots empties the table, sized for about n distinct values.
func (s *dictScratch) resetSlots(n int) {
	size := 1 << max(bits.Len(uint(2*n)), 8)
	if cap(s.slots) < size {
		s.slots = make([]int32, size)
		return
	}
	s.slots = s.slots[:size]
	clear(s.slots)
}

const (
	hashMul1 = 0x9E3779B97F4A7C15
	hashMul2 = 0xC2B2AE3D27D4EB4F
)

func hashInt(v uint64) uint64 {
	v = (v ^ v>>31) * hashMul1
	return v ^ v>>29
}

// validity returns a bitmap of the rows' validity if any part has nulls.
func validity(parts []arrow.Array, rows int, mem memory.Allocator) (*memory.Buffer, int) {
	nulls := 0
	for _, p := range parts {
		nulls += p.NullN()
	}
	if nulls == 0 {
		return nil, 0
	}
	bm := memory.NewResizableBuffer(mem)
	bm.Resize(int(bitutil.BytesForBits(int64(rows))))
	b := bm.Bytes()
	clear(b)
	at := 0
	for _, p := range parts {
		if p.NullN() == 0 {
			bitutil.SetBitsTo(b, int64(at), int64(p.Len()), true)
		} else {
			bitutil.CopyBitmap(p.NullBitmapBytes(), p.Data().Offset(), p.Len(), b, at)
		}
		at += p.Len()
	}
	return bm, nulls
}

func int32Buffer(mem memory.Allocator, n int) (*memory.Buffer, []int32) {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * 4)
	return buf, arrow.Int32Traits.CastFromBytes(buf.Bytes())
}

// dictArray makes a dictionary array of int32 indices and releases its
// buffers and dictionary.
func dictArray(valueType arrow.DataType, rows, nulls int, bitmap, idx *memory.Buffer, dict arrow.ArrayData) arrow.Array {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: valueType}
	data := array.NewDataWithDictionary(dt, rows, []*memory.Buffer{bitmap, idx}, nulls, 0, dict.(*array.Data))
	out := array.MakeFromData(data)
	data.Release()
	dict.Release()
	idx.Release()
	if bitmap != nil {
		bitmap.Release()
	}
	return out
}

// strSlot is a slot of the string table. It holds the value's length and
// bytes (all of them up to 16 bytes, as two overlapping words; the first
// and last 8 beyond), so that most probes touch no other memory.
type strSlot struct {
	w0, w1 uint64
	n      int32
	code   int32 // code+1; 0 is empty
}

// strKey returns the words of a strSlot for v.
func strKey(v []byte) (w0, w1 uint64) {
	switch n := len(v); {
	case n >= 8:
		return binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[n-8:])
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(v)) | uint64(binary.LittleEndian.Uint32(v[n-4:]))<<32, 0
	default:
		for i, c := range v {
			w0 |= uint64(c) << (8 * i)
		}
		return w0, 0
	}
}

func strHash(w0, w1 uint64, n int32) uint64 {
	h := (w0^uint64(n))*hashMul1 ^ bits.RotateLeft64(w1*hashMul2, 31)
	return h ^ h>>29
}

// stringDictionary dictionary-encodes string arrays into one array.
func (s *dictScratch) stringDictionary(parts []arrow.Array, rows int, mem memory.Allocator) arrow.Array {
	bitmap, nulls := validity(parts, rows, mem)
	idxBuf, idx := int32Buffer(mem, rows)
	size := 256 // grown as needed: most columns hold a few values
	if cap(s.strs) < size {
		s.strs = make([]strSlot, size)
	} else {
		s.strs = s.strs[:size]
		clear(s.strs)
	}
	s.offs = append(s.offs[:0], 0)
	s.data = s.data[:0]
	var last strSlot // runs of one value skip the table
	at := 0
	for _, p := range parts {
		a := p.(*array.String)
		offs := a.ValueOffsets()
		vb := a.ValueBytes()
		base := offs[0]
		hasNulls := a.NullN() > 0
		if !hasNulls && constantStrings(offs, vb) {
			// One value (an interface's account, VPC, subnet...): look it
			// up once.
			v := vb[:offs[1]-base]
			w0, w1 := strKey(v)
			fillInt32(idx[at:at+a.Len()], s.strCode(v, w0, w1, &last))
			at += a.Len()
			continue
		}
		for j := 0; j < a.Len(); j, at = j+1, at+1 {
			if hasNulls && a.IsNull(j) {
				idx[at] = 0
				continue
			}
			v := vb[offs[j]-base : offs[j+1]-base]
			w0, w1 := strKey(v)
			if n := int32(len(v)); last.code != 0 && last.w0 == w0 && last.w1 == w1 && last.n == n &&
				(n <= 16 || string(v) == string(s.data[s.offs[last.code-1]:s.offs[last.code]])) {
				idx[at] = last.code - 1
				continue
			}
			idx[at] = s.strCode(v, w0, w1, &last)
		}
	}
	n := len(s.offs) - 1
	offBuf, offs := int32Buffer(mem, n+1)
	copy(offs, s.offs)
	dataBuf := memory.NewResizableBuffer(mem)
	dataBuf.Resize(len(s.data))
	copy(dataBuf.Bytes(), s.data)
	dict := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, offBuf, dataBuf}, nil, 0, 0)
	offBuf.Release()
	dataBuf.Release()
	return dictArray(arrow.BinaryTypes.String, rows, nulls, bitmap, idxBuf, dict)
}

// strCode returns the code of v, whose strKey is w0, w1, adding it if it
// is new, and sets last to its slot.
func (s *dictScratch) strCode(v []byte, w0, w1 uint64, last *strSlot) int32 {
	n := int32(len(v))
	mask := uint64(len(s.strs) - 1)
	h := strHash(w0, w1, n) & mask
	for {
		sl := &s.strs[h]
		if sl.code == 0 {
			k := int32(len(s.offs) - 1)
			s.data = append(s.data, v...)
			s.offs = append(s.offs, int32(len(s.data)))
			*sl = strSlot{w0, w1, n, k + 1}
			*last = *sl
			if 2*len(s.offs) > len(s.strs) {
				s.growStrings()
			}
			return k
		}
		if sl.w0 == w0 && sl.w1 == w1 && sl.n == n &&
			(n <= 16 || string(v) == string(s.data[s.offs[sl.code-1]:s.offs[sl.code]])) {
			*last = *sl
			return sl.code - 1
		}
		h = (h + 1) & mask
	}
}

// constantStrings tells whether a string array of offsets offs and value
// bytes vb (no nulls) holds one value only.
func constantStrings(offs []int32, vb []byte) bool {
	n := len(offs) - 1
	if n < 2 {
		return false
	}
	l := offs[1] - offs[0]
	for j := 1; j < n; j++ {
		if offs[j+1]-offs[j] != l {
			return false
		}
	}
	return bytes.Equal(vb[l:], vb[:len(vb)-int(l)])
}

func fillInt32(dst []int32, v int32) {
	for i := range dst {
		dst[i] = v
	}
}

func (s *dictScratch) growStrings() {
	old := s.strs
	s.strs = make([]strSlot, 2*len(old))
	mask := uint64(len(s.strs) - 1)
	for _, sl := range old {
		if sl.code == 0 {
			continue
		}
		h := strHash(sl.w0, sl.w1, sl.n) & mask
		for s.strs[h].code != 0 {
			h = (h + 1) & mask
		}
		s.strs[h] = sl
	}
}

// int32Dictionary dictionary-encodes int32 arrays into one array.
func (s *dictScratch) int32Dictionary(parts []arrow.Array, rows int, mem memory.Allocator) arrow.Array {
	bitmap, nulls := validity(parts, rows, mem)
	idxBuf, idx := int32Buffer(mem, rows)
	s.i32 = s.i32[:0]
	s.i32 = encodeInts(s, s.i32, parts, idx, func(a arrow.Array) []int32 { return a.(*array.Int32).Int32Values() })
	n := len(s.i32)
	vbuf, vals := int32Buffer(mem, n)
	copy(vals, s.i32)
	dict := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{nil, vbuf}, nil, 0, 0)
	vbuf.Release()
	return dictArray(arrow.PrimitiveTypes.Int32, rows, nulls, bitmap, idxBuf, dict)
}

// int64Dictionary dictionary-encodes int64 arrays into one array.
func (s *dictScratch) int64Dictionary(parts []arrow.Array, rows int, mem memory.Allocator) arrow.Array {
	bitmap, nulls := validity(parts, rows, mem)
	idxBuf, idx := int32Buffer(mem, rows)
	s.i64 = s.i64[:0]
	s.i64 = encodeInts(s, s.i64, parts, idx, func(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() })
	n := len(s.i64)
	vbuf := memory.NewResizableBuffer(mem)
	vbuf.Resize(n * 8)
	copy(arrow.Int64Traits.CastFromBytes(vbuf.Bytes()), s.i64)
	dict := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, vbuf}, nil, 0, 0)
	vbuf.Release()
	return dictArray(arrow.PrimitiveTypes.Int64, rows, nulls, bitmap, idxBuf, dict)
}

func constantInts[T int32 | int64](vals []T) bool {
	for _, v := range vals[1:] {
		if v != vals[0] {
			return false
		}
	}
	return true
}

// encodeInts fills idx with the codes of the parts' values, appending new
// values to dict. Null rows get code 0.
func encodeInts[T int32 | int64](s *dictScratch, dict []T, parts []arrow.Array, idx []int32, values func(arrow.Array) []T) []T {
	s.resetSlots(64)
	mask := uint64(len(s.slots) - 1)
	var last T
	lastK := int32(-1)
	at := 0
	for _, p := range parts {
		vals := values(p)
		hasNulls := p.NullN() > 0
		if !hasNulls && len(vals) > 0 && last == vals[0] && lastK >= 0 && constantInts(vals) {
			fillInt32(idx[at:at+len(vals)], lastK)
			at += len(vals)
			continue
		}
		for j, v := range vals {
			if hasNulls && p.IsNull(j) {
				idx[at] = 0
				at++
				continue
			}
			if lastK >= 0 && v == last {
				idx[at] = lastK
				at++
				continue
			}
			h := hashInt(uint64(v)) & mask
			var k int32
			for {
				c := s.slots[h]
				if c == 0 {
					k = int32(len(dict))
					dict = append(dict, v)
					s.slots[h] = k + 1
					if 2*len(dict) > len(s.slots) {
						size := 2 * len(s.slots)
						s.slots = append(s.slots[:0], make([]int32, size)...)
						mask = uint64(size - 1)
						for i, d := range dict {
							h := hashInt(uint64(d)) & mask
							for s.slots[h] != 0 {
								h = (h + 1) & mask
							}
							s.slots[h] = int32(i + 1)
						}
					}
					break
				}
				if dict[c-1] == v {
					k = c - 1
					break
				}
				h = (h + 1) & mask
			}
			idx[at] = k
			at++
			last, lastK = v, k
		}
	}
	return dict
}
