package parse

import (
	"testing"
	"unsafe"
)

func TestPool(t *testing.T) {
	p := NewPool()
	for _, size := range []int{0, 1, 1000, 1025, 4096, 100_000, 1 << 20} {
		b := p.Allocate(size)
		if len(b) != size {
			t.Fatalf("Allocate(%d) has len %d", size, len(b))
		}
		if size > 0 && uintptr(unsafe.Pointer(&b[0]))%poolAlign != 0 {
			t.Fatalf("Allocate(%d) not %d-byte aligned", size, poolAlign)
		}
		for i := range b {
			b[i] = byte(i)
		}
		g := p.Reallocate(size*2+1, b)
		for i := 0; i < size; i++ {
			if g[i] != byte(i) {
				t.Fatalf("Reallocate lost byte %d", i)
			}
		}
		p.Free(g)
	}
	// A freed buffer of a class is handed out again.
	b := p.Allocate(5000)
	b[0] = 42
	p.Free(b)
	again := p.Allocate(6000)
	if cap(again) != 8192 {
		t.Fatalf("class capacity %d, want 8192", cap(again))
	}
}

func TestNextSpace(t *testing.T) {
	for _, s := range []string{"", " ", "a", "abc def", "abcdefgh ", "abcdefghijklmnop q", "abcdefg", "abcdefgh", "\x80\xa0\x20x", "ab\xa0cdefghijk l"} {
		want := len(s)
		for i := 0; i < len(s); i++ {
			if s[i] == ' ' {
				want = i
				break
			}
		}
		if got := nextSpace([]byte(s), 0); got != want {
			t.Errorf("nextSpace(%q) = %d, want %d", s, got, want)
		}
	}
}
