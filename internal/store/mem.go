package store

import (
	"github.com/flowq/flowq/internal/parse"
)

// zeroedPool is the Lake's default allocator: a parse.Pool whose buffers are
// zeroed like the Go allocator's, so the Parquet writer's page, level and
// dictionary buffers are recycled from one Write to the next instead of
// being allocated (and zeroed, and collected) again.
type zeroedPool struct{ p *parse.Pool }

func (z zeroedPool) Allocate(size int) []byte {
	b := z.p.Allocate(size)
	clear(b)
	return b
}

func (z zeroedPool) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		if size > len(b) {
			clear(b[len(b):size])
		}
		return b[:size]
	}
	nb := z.Allocate(size)
	copy(nb, b)
	z.p.Free(b)
	return nb
}

func (z zeroedPool) Free(b []byte) { z.p.Free(b) }
