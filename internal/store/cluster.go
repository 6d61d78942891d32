package store

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/parse"
)

// clusterRows reorders the rows of one object so that the records of one
// (srcaddr, dstaddr) pair are adjacent, in their original (time) order
// within the pair. Pairs are ordered by first appearance, not by value:
// the point is clustering, not sorting. It halves the CPU DuckDB spends on
// GROUP BY srcaddr, dstaddr (the hash table sees runs of one key), and the
// dictionary indices of the address, interface and port columns become
// runs that RLE and zstd shrink. cols must hold int32, int64 and
// dictionary (int32 index) arrays; otherwise, or without both address
// columns, cols is returned as is. The arrays replaced are released.
func (s *dictScratch) clusterRows(fields []arrow.Field, cols []arrow.Array, rows int, mem memory.Allocator) []arrow.Array {
	src, dst := -1, -1
	for i, f := range fields {
		switch f.Name {
		case parse.ColSrcAddr:
			src = i
		case parse.ColDstAddr:
			dst = i
		}
		switch cols[i].DataType().ID() {
		case arrow.INT32, arrow.INT64, arrow.DICTIONARY:
		default:
			return cols
		}
	}
	if src < 0 || dst < 0 || rows < 2 {
		return cols
	}
	sd, ok1 := cols[src].(*array.Dictionary)
	dd, ok2 := cols[dst].(*array.Dictionary)
	if !ok1 || !ok2 {
		return cols
	}
	// Two stable counting sorts: by dst code, then by src code. Nulls sort
	// after every code.
	s.perm = grow(s.perm, rows)
	s.tmp = grow(s.tmp, rows)
	byDst := s.tmp
	for r := range byDst {
		byDst[r] = int32(r)
	}
	s.countingSort(s.tmp, s.perm, dd)
	s.countingSort(s.perm, s.tmp, sd)
	perm := s.tmp // the result of the second pass
	sorted := true
	for i, p := range perm {
		if p != int32(i) {
			sorted = false
			break
		}
	}
	if sorted {
		return cols
	}
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		out[i] = permute(c, perm, mem)
		c.Release()
	}
	return out
}

func grow(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

// countingSort writes the rows of in to out, stably ordered by their code
// in d (nulls last).
func (s *dictScratch) countingSort(in, out []int32, d *array.Dictionary) {
	n := d.Dictionary().Len() + 1
	s.cnt = grow(s.cnt, n+1)
	cnt := s.cnt
	clear(cnt)
	codes := d.Indices().(*array.Int32).Int32Values()
	hasNulls := d.NullN() > 0
	code := func(r int32) int32 {
		if hasNulls && d.IsNull(int(r)) {
			return int32(n - 1)
		}
		return codes[r]
	}
	for _, r := range in {
		cnt[code(r)+1]++
	}
	for i := 1; i < len(cnt); i++ {
		cnt[i] += cnt[i-1]
	}
	for _, r := range in {
		c := code(r)
		out[cnt[c]] = r
		cnt[c]++
	}
}

// permute returns the rows of c in the order perm gives.
func permute(c arrow.Array, perm []int32, mem memory.Allocator) arrow.Array {
	n := len(perm)
	if d, ok := c.(*array.Dictionary); ok && (d.NullN() == 0 && d.Dictionary().Len() <= 1 || d.NullN() == n) {
		c.Retain() // one value (or none) in every row: any order is this one
		return c
	}
	var bitmap *memory.Buffer
	nulls := c.NullN()
	if nulls > 0 {
		bitmap = memory.NewResizableBuffer(mem)
		bitmap.Resize(int(bitutil.BytesForBits(int64(n))))
		bm := bitmap.Bytes()
		clear(bm)
		valid, off := c.NullBitmapBytes(), c.Data().Offset()
		for i, p := range perm {
			if bitutil.BitIsSet(valid, off+int(p)) {
				bitutil.SetBit(bm, i)
			}
		}
	}
	values := memory.NewResizableBuffer(mem)
	var data arrow.ArrayData
	switch a := c.(type) {
	case *array.Int32:
		values.Resize(n * 4)
		v, src := arrow.Int32Traits.CastFromBytes(values.Bytes()), a.Int32Values()
		for i, p := range perm {
			v[i] = src[p]
		}
		data = array.NewData(a.DataType(), n, []*memory.Buffer{bitmap, values}, nil, nulls, 0)
	case *array.Int64:
		values.Resize(n * 8)
		v, src := arrow.Int64Traits.CastFromBytes(values.Bytes()), a.Int64Values()
		for i, p := range perm {
			v[i] = src[p]
		}
		data = array.NewData(a.DataType(), n, []*memory.Buffer{bitmap, values}, nil, nulls, 0)
	case *array.Dictionary:
		values.Resize(n * 4)
		v, src := arrow.Int32Traits.CastFromBytes(values.Bytes()), a.Indices().(*array.Int32).Int32Values()
		for i, p := range perm {
			v[i] = src[p]
		}
		dict := a.Dictionary().Data()
		data = array.NewDataWithDictionary(a.DataType(), n, []*memory.Buffer{bitmap, values}, nulls, 0, dict.(*array.Data))
	}
	values.Release()
	if bitmap != nil {
		bitmap.Release()
	}
	out := array.MakeFromData(data)
	data.Release()
	return out
}
