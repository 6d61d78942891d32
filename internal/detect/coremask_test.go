package detect

import "testing"

// TestCoreMask: the core-columns bitmap has bit i set exactly when every
// core column is valid at row i, on a batch with nulls in every column and
// on its slices at every offset up to 130 (validity bitmaps read a word at
// a time, a byte at a time at their tail, or bit by bit when not aligned).
func TestCoreMask(t *testing.T) {
	whole := adversarialBatch(t, 5, 700)
	var buf []uint64
	for off := int64(0); off <= 130; off++ {
		for _, end := range []int64{whole.NumRows(), whole.NumRows() - 3, off + 64, off + 9} {
			rec := whole.NewSlice(off, end)
			var sc scratch
			c, err := bindColumns(rec, &sc)
			if err != nil {
				t.Fatal(err)
			}
			n := int(rec.NumRows())
			mask := coreMask(&c, n, &buf)
			for i := range n {
				want := c.src.IsValid(i) && c.dst.IsValid(i) && c.action.IsValid(i) && c.start.valid(i) && c.end.valid(i) &&
					c.srcPort.valid(i) && c.dstPort.valid(i) && c.proto.valid(i) && c.packets.valid(i) && c.bytes.valid(i)
				if got := mask[i>>6]>>(i&63)&1 != 0; got != want {
					t.Fatalf("slice %d..%d, row %d: core %v, want %v", off, end, i, got, want)
				}
			}
			rec.Release()
		}
	}
}
