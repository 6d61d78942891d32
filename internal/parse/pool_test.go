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

func TestParseDigits(t *testing.T) {
	for _, s := range []string{"0", "7", "42", "443", "65535", "1795132800", "12345678", "123456789", "1234567890123456789", "0000000000000000001", "99 ", "1234567 8", "123456789012 x", "12a", "", " 5", "9:", "3/"} {
		var want uint64
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			want = want*10 + uint64(s[i]-'0')
			i++
		}
		// Pad so that both the SWAR and the byte path are exercised.
		for _, pad := range []string{"", " 123456789"} {
			v, p := parseDigits([]byte(s+pad), 0)
			if v != want || p != i {
				t.Errorf("parseDigits(%q) = %d,%d; want %d,%d", s+pad, v, p, want, i)
			}
		}
	}
}
