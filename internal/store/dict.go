package store

import (
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
	slots []int32 // code+1 per slot; 0 is empty
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

// hashBytes is a fast non-cryptographic hash for short strings (addresses,
// resource ids).
func hashBytes(b []byte) uint64 {
	h := uint64(len(b)) * hashMul1
	for len(b) >= 8 {
		h = bits.RotateLeft64((h^binary.LittleEndian.Uint64(b))*hashMul2, 29)
		b = b[8:]
	}
	if len(b) >= 4 {
		h = bits.RotateLeft64((h^uint64(binary.LittleEndian.Uint32(b)))*hashMul2, 29)
		b = b[4:]
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * hashMul1
	}
	return (h ^ h>>32) * hashMul1
}

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

// stringDictionary dictionary-encodes string arrays into one array.
func (s *dictScratch) stringDictionary(parts []arrow.Array, rows int, mem memory.Allocator) arrow.Array {
	bitmap, nulls := validity(parts, rows, mem)
	idxBuf, idx := int32Buffer(mem, rows)
	s.resetSlots(min(rows, 1<<12))
	mask := uint64(len(s.slots) - 1)
	s.offs = append(s.offs[:0], 0)
	s.data = s.data[:0]
	var last []byte
	lastK := int32(-1) // runs of one value skip the table
	at := 0
	for _, p := range parts {
		a := p.(*array.String)
		offs := a.ValueOffsets()
		vb := a.ValueBytes()
		base := offs[0]
		hasNulls := a.NullN() > 0
		for j := 0; j < a.Len(); j, at = j+1, at+1 {
			if hasNulls && a.IsNull(j) {
				idx[at] = 0
				continue
			}
			v := vb[offs[j]-base : offs[j+1]-base]
			if lastK >= 0 && string(v) == string(last) {
				idx[at] = lastK
				continue
			}
			h := hashBytes(v) & mask
			var k int32
			for {
				c := s.slots[h]
				if c == 0 {
					k = int32(len(s.offs) - 1)
					s.data = append(s.data, v...)
					s.offs = append(s.offs, int32(len(s.data)))
					s.slots[h] = k + 1
					if 2*len(s.offs) > len(s.slots) {
						s.growStrings()
						mask = uint64(len(s.slots) - 1)
					}
					break
				}
				if string(s.data[s.offs[c-1]:s.offs[c]]) == string(v) {
					k = c - 1
					break
				}
				h = (h + 1) & mask
			}
			idx[at] = k
			last, lastK = v, k
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

func (s *dictScratch) growStrings() {
	size := 2 * len(s.slots)
	s.slots = append(s.slots[:0], make([]int32, size)...)
	mask := uint64(size - 1)
	for k := 1; k < len(s.offs); k++ {
		h := hashBytes(s.data[s.offs[k-1]:s.offs[k]]) & mask
		for s.slots[h] != 0 {
			h = (h + 1) & mask
		}
		s.slots[h] = int32(k)
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

// encodeInts fills idx with the codes of the parts' values, appending new
// values to dict. Null rows get code 0.
func encodeInts[T int32 | int64](s *dictScratch, dict []T, parts []arrow.Array, idx []int32, values func(arrow.Array) []T) []T {
	s.resetSlots(min(len(idx), 1<<10))
	mask := uint64(len(s.slots) - 1)
	var last T
	lastK := int32(-1)
	at := 0
	for _, p := range parts {
		vals := values(p)
		hasNulls := p.NullN() > 0
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
