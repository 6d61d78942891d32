package parse

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Pool is an Arrow memory allocator that recycles buffers by power-of-two
// size class. A Reader using it reuses the buffers of batches the caller has
// released, so steady-state parsing allocates (almost) nothing. Memory
// from a Pool is not zeroed. Safe for concurrent use. A Pool keeps at most
// 64 free buffers per size class; the rest go to the garbage collector.
type Pool struct {
	mu   sync.Mutex
	free [numClasses][][]byte
	// maxFree bounds the buffers kept per size class.
	maxFree int
}

const (
	minClassShift = 10 // 1 KiB
	numClasses    = 27 // up to 64 MiB
	poolAlign     = 64
)

// NewPool returns an empty Pool.
func NewPool() *Pool { return &Pool{maxFree: 64} }

func classOf(size int) int {
	if size <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(size-1)) - minClassShift
}

// Allocate returns a 64-byte aligned buffer of size bytes.
func (p *Pool) Allocate(size int) []byte {
	c := classOf(size)
	if c >= numClasses {
		return alignedMake(size)
	}
	p.mu.Lock()
	if n := len(p.free[c]); n > 0 {
		b := p.free[c][n-1]
		p.free[c][n-1] = nil
		p.free[c] = p.free[c][:n-1]
		p.mu.Unlock()
		return b[:size]
	}
	p.mu.Unlock()
	return alignedMake(1 << (c + minClassShift))[:size]
}

// Reallocate grows (or shrinks) b, keeping its contents.
func (p *Pool) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free returns b to its size class.
func (p *Pool) Free(b []byte) {
	c := cap(b)
	if c < 1<<minClassShift || c&(c-1) != 0 {
		return // not one of ours (or not a class size): let the GC have it
	}
	cl := classOf(c)
	if cl >= numClasses {
		return
	}
	p.mu.Lock()
	if len(p.free[cl]) < p.maxFree {
		p.free[cl] = append(p.free[cl], b[:c])
	}
	p.mu.Unlock()
}

func alignedMake(size int) []byte {
	buf := make([]byte, size+poolAlign)
	shift := 0
	if r := uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % poolAlign; r != 0 {
		shift = poolAlign - int(r)
	}
	return buf[shift : shift+size : shift+size]
}
