package parse

// Byte-level helpers of the line parser: decimal digits (SWAR), separators,
// value checks and integer formatting. They are on the hot path; the small
// ones inline.

import (
	"encoding/binary"
	"math/bits"
)

var pow10 = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// parseDigits reads the run of decimal digits at line[p:], eight at a time
// (SWAR), and returns its value and the index after it. More than 19 digits
// overflow; the caller checks the digit count.
func parseDigits(line []byte, p int) (uint64, int) {
	var v uint64
	for p+8 <= len(line) {
		x := binary.LittleEndian.Uint64(line[p:])
		// A byte is a digit iff its high nibble is 3 and adding 6 keeps it 3.
		t := x&0xF0F0F0F0F0F0F0F0 | (x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0>>4
		n := 8
		if z := t ^ 0x3333333333333333; z != 0 {
			n = bits.TrailingZeros64(z) >> 3
		}
		if n == 0 {
			return v, p
		}
		// Keep the n digits in the top bytes (leading zeros below), then
		// combine pairs, quads and octets with three multiplications.
		d := (x << (64 - 8*n)) & 0x0F0F0F0F0F0F0F0F
		d = d * (10<<8 + 1) >> 8
		d = (d & 0x00FF00FF00FF00FF) * (100<<16 + 1) >> 16
		d = (d & 0x0000FFFF0000FFFF) * (10000<<32 + 1) >> 32
		v = v*pow10[n] + d
		p += n
		if n < 8 {
			return v, p
		}
	}
	for p < len(line) {
		d := line[p] - '0'
		if d > 9 {
			break
		}
		v = v*10 + uint64(d)
		p++
	}
	return v, p
}

// nextSpace returns the index of the first space in b at or after p, or
// len(b). It tests eight bytes at a time (SWAR): x^0x20.. has a zero byte
// where b has a space, and (x-0x01..)&^x&0x80.. marks the first zero byte
// exactly.
func nextSpace(b []byte, p int) int {
	for p+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[p:]) ^ 0x2020202020202020
		if t := (x - 0x0101010101010101) &^ x & 0x8080808080808080; t != 0 {
			return p + bits.TrailingZeros64(t)>>3
		}
		p += 8
	}
	for p < len(b) && b[p] != ' ' {
		p++
	}
	return p
}

func validValue(check valueCheck, tok []byte) bool {
	switch check {
	case actionValue:
		return string(tok) == ActionAccept || string(tok) == ActionReject
	case statusValue:
		return string(tok) == StatusOK || string(tok) == StatusNoData || string(tok) == StatusSkipData
	}
	return true
}

// fitsUint63 reports whether a decimal digit string is at most MaxInt64.
func fitsUint63(d []byte) bool {
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	const maxStr = "9223372036854775807"
	if len(d) != len(maxStr) {
		return len(d) < len(maxStr)
	}
	return string(d) <= maxStr
}

func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func itoa(n int) string { return string(appendInt(nil, int64(n))) }

func appendInt(b []byte, n int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	for {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		tmp[i] = '-'
	}
	return append(b, tmp[i:]...)
}
