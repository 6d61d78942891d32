package cwlogs

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// scanner is a purpose-built reader of the subscription JSON. It decodes the
// fields CloudWatch Logs sends straight into Data and reports false for
// anything it does not handle (null, a wrong type, a duplicate or
// case-folded key, a lone surrogate, invalid UTF-8, invalid JSON); the caller
// then decodes the payload with encoding/json, whose result is authoritative.
// When it reports true, its result equals encoding/json's.
type scanner struct {
	b   []byte
	i   int
	d   *Data
	tmp []byte
}

// plain marks the string bytes that need no attention: printable ASCII other
// than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

var newline = []byte{'\n'}

// special reports whether any of the eight bytes in w is a control
// character, non-ASCII, '"' or '\\' (SWAR: "Bit Twiddling Hacks").
func special(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return ((w-0x20*ones)&^w|w|zero(w^'"'*ones)|zero(w^'\\'*ones))&highs != 0
}

// printableASCII reports whether b holds only bytes from 0x20 to 0x7f.
// (w - 0x20…) borrows only past a byte under 0x20, so together with w's own
// high bits the test is exact.
func printableASCII(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+16 <= len(b); i += 16 {
		w1, w2 := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		if ((w1-0x20*ones)|w1|(w2-0x20*ones)|w2)&highs != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 || b[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c.
func (s *scanner) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// peek skips white space and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str appends the JSON string at the cursor, decoded, to dst.
func (s *scanner) str(dst []byte) ([]byte, bool) {
	if s.peek() != '"' {
		return dst, false
	}
	s.i++
	b := s.b
	// The common case, a flow-log line: find the closing quote with the
	// vectorised IndexByte and check that nothing before it needs decoding.
	if q := bytes.IndexByte(b[s.i:], '"'); q >= 0 {
		seg := b[s.i : s.i+q]
		if printableASCII(seg) && bytes.IndexByte(seg, '\\') < 0 {
			s.i += q + 1
			return append(dst, seg...), true
		}
	}
	for {
		start := s.i
		i := s.i
		// Eight bytes at a time while none needs attention, then bytewise.
		for i+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		dst = append(dst, b[start:i]...)
		s.i = i
		if i >= len(b) {
			return dst, false
		}
		switch c := b[i]; {
		case c == '"':
			s.i++
			return dst, true
		case c == '\\':
			if i+1 >= len(b) {
				return dst, false
			}
			s.i += 2
			switch b[i+1] {
			case '"', '\\', '/':
				dst = append(dst, b[i+1])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return dst, false
				}
				if r >= 0xD800 && r < 0xDC00 { // high surrogate: needs its low half
					if s.i+1 >= len(b) || b[s.i] != '\\' || b[s.i+1] != 'u' {
						return dst, false
					}
					s.i += 2
					lo, ok := s.hex4()
					if !ok || lo < 0xDC00 || lo >= 0xE000 {
						return dst, false
					}
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				} else if r >= 0xDC00 && r < 0xE000 {
					return dst, false
				}
				dst = utf8.AppendRune(dst, r)
			default:
				return dst, false
			}
		case c < 0x20:
			return dst, false
		default: // UTF-8 sequence: keep it only if valid
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return dst, false
			}
			dst = append(dst, b[i:i+n]...)
			s.i += n
		}
	}
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}

// key reads an object key and its colon into the scratch buffer; the key is
// valid until the next string is read.
func (s *scanner) key() ([]byte, bool) {
	var ok bool
	s.tmp, ok = s.str(s.tmp[:0])
	if !ok || !s.next(':') {
		return nil, false
	}
	return s.tmp, true
}

// int reads a JSON integer that fits an int64 without loss.
func (s *scanner) int() (int64, bool) {
	s.ws()
	b := s.b
	i := s.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var v int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	n := i - start
	if n == 0 || n > 18 || (n > 1 && b[start] == '0') {
		return 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, false
	}
	s.i = i
	if neg {
		v = -v
	}
	return v, true
}

// skip skips any JSON value, validating it.
func (s *scanner) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		var ok bool
		s.tmp, ok = s.str(s.tmp[:0])
		return ok
	case c == '{':
		s.i++
		if s.next('}') {
			return true
		}
		for {
			if _, ok := s.key(); !ok || !s.skip(depth+1) {
				return false
			}
			if s.next('}') {
				return true
			}
			if !s.next(',') {
				return false
			}
		}
	case c == '[':
		s.i++
		if s.next(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.next(']') {
				return true
			}
			if !s.next(',') {
				return false
			}
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// number skips a number of the JSON grammar.
func (s *scanner) number() bool {
	b, i := s.b, s.i
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	s.i = i
	return true
}

// known reports whether an unexpected key could still match a field in
// encoding/json, which folds case (and a few non-ASCII letters).
func known(k string, names ...string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] >= utf8.RuneSelf {
			return true
		}
	}
	for _, n := range names {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// payload reads the whole subscription JSON into s.d.
func (s *scanner) payload() bool {
	d := s.d
	if !s.next('{') {
		return false
	}
	var seen [7]bool
	once := func(i int) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		return true
	}
	if !s.next('}') {
		for {
			k, ok := s.key()
			if !ok {
				return false
			}
			switch string(k) {
			case "messageType":
				ok = once(0) && s.meta(&d.MessageType)
			case "owner":
				ok = once(1) && s.meta(&d.Owner)
			case "logGroup":
				ok = once(2) && s.meta(&d.LogGroup)
			case "logStream":
				ok = once(3) && s.meta(&d.LogStream)
			case "policyLevel":
				ok = once(4) && s.meta(&d.PolicyLevel)
			case "subscriptionFilters":
				ok = once(5) && s.filters()
			case "logEvents":
				ok = once(6) && s.events()
			default:
				ok = !known(string(k), "messageType", "owner", "logGroup", "logStream", "policyLevel", "subscriptionFilters", "logEvents") && s.skip(0)
			}
			if !ok {
				return false
			}
			if s.next('}') {
				break
			}
			if !s.next(',') {
				return false
			}
		}
	}
	s.ws()
	return s.i == len(s.b)
}

func (s *scanner) meta(dst *string) bool {
	var ok bool
	s.tmp, ok = s.str(s.tmp[:0])
	*dst = string(s.tmp)
	return ok
}

func (s *scanner) filters() bool {
	if !s.next('[') {
		return false
	}
	f := []string{}
	if !s.next(']') {
		for {
			var v string
			if !s.meta(&v) {
				return false
			}
			f = append(f, v)
			if s.next(']') {
				break
			}
			if !s.next(',') {
				return false
			}
		}
	}
	s.d.SubscriptionFilters = f
	return true
}

func (s *scanner) events() bool {
	d := s.d
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		return true
	}
	line := int64(1)
	for {
		if !s.next('{') {
			return false
		}
		ev := event{idOff: len(d.ids), idEnd: len(d.ids), msgOff: len(d.Text), msgEnd: len(d.Text), line: line}
		var seen [3]bool
		if !s.next('}') {
			for {
				k, ok := s.key()
				if !ok {
					return false
				}
				switch string(k) {
				case "id":
					if seen[0] {
						return false
					}
					seen[0] = true
					ev.idOff = len(d.ids)
					d.ids, ok = s.str(d.ids)
					ev.idEnd = len(d.ids)
				case "timestamp":
					if seen[1] {
						return false
					}
					seen[1] = true
					ev.ts, ok = s.int()
				case "message":
					if seen[2] {
						return false
					}
					seen[2] = true
					ev.msgOff = len(d.Text)
					d.Text, ok = s.str(d.Text)
					ev.msgEnd = len(d.Text)
				default:
					ok = !known(string(k), "id", "timestamp", "message") && s.skip(0)
				}
				if !ok {
					return false
				}
				if s.next('}') {
					break
				}
				if !s.next(',') {
					return false
				}
			}
		}
		// A message may hold escaped newlines: count them for line numbers.
		line += int64(bytes.Count(d.Text[ev.msgOff:ev.msgEnd], newline)) + 1
		d.Text = append(d.Text, '\n')
		d.events = append(d.events, ev)
		d.lines = line - 1
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// envelope finds the data string of {"awslogs":{"data":"..."}} when it has
// exactly that shape and the string needs no unescaping.
func (s *scanner) envelope() ([]byte, bool) {
	if !s.next('{') || !s.lit2(`"awslogs"`) || !s.next(':') || !s.next('{') || !s.lit2(`"data"`) || !s.next(':') || !s.next('"') {
		return nil, false
	}
	q := bytes.IndexByte(s.b[s.i:], '"')
	if q < 0 {
		return nil, false
	}
	data := s.b[s.i : s.i+q]
	if !printableASCII(data) || bytes.IndexByte(data, '\\') >= 0 {
		return nil, false
	}
	s.i += q + 1
	// Two closing braces: the "awslogs" object, then the envelope. (next
	// consumes, so the two calls are not the same test.)
	if !s.next('}') || !s.next('}') {
		return nil, false
	}
	s.ws()
	return data, s.i == len(s.b) && len(data) > 0
}

func (s *scanner) lit2(w string) bool {
	s.ws()
	return s.lit(w)
}
