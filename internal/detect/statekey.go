package detect

import (
	"net/netip"
	"strings"
)

// MemoryState keys its entries by memKey, a fixed-size value without
// pointers: a map of them costs the garbage collector nothing to scan, and
// the Engine builds one from its address IDs without writing any text. A
// Key and its memKey convert both ways exactly (Key → memKey → Key gives
// the same strings), so snapshots and Claim/Ack by Key see the same
// entries.

// Kinds of a memKey address.
const (
	kindEmpty uint8 = iota // "" (the reject detector's Dst)
	kindV4                 // canonical IPv4 text: bytes 0-3
	kindV6                 // canonical IPv6 text (netip's): 16 bytes
	kindText               // any other text: an interned ID in bytes 0-3
)

type memKey struct {
	src, dst  [16]byte
	win, span int64
	det       uint32 // interned detector name
	kinds     uint8  // src kind | dst kind<<2
}

// compactAddr encodes s when it is an address in canonical text (what the
// Engine writes), and reports whether it is one.
func compactAddr(s string) (uint8, [16]byte, bool) {
	var b [16]byte
	if s == "" {
		return kindEmpty, b, true
	}
	if ip, ok := parseIPv4(s); ok {
		b[0], b[1], b[2], b[3] = byte(ip>>24), byte(ip>>16), byte(ip>>8), byte(ip)
		return kindV4, b, true
	}
	if strings.IndexByte(s, ':') < 0 {
		return 0, b, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return 0, b, false
	}
	var buf [64]byte
	if string(a.AppendTo(buf[:0])) != s {
		return 0, b, false
	}
	return kindV6, a.As16(), true
}

// texts interns the strings of keys that are not addresses in canonical
// text (detector names, and anything a caller may use as Src or Dst),
// counting the live keys that use each so that unused ones are dropped.
type texts struct {
	ids    map[string]uint32
	strs   []string
	refs   []int32 // live keys using each; pinned entries hold 1 forever
	unused []uint32
}

// newTexts returns a table holding the detector names, pinned, with the
// IDs of detNames' order.
func newTexts() texts {
	t := texts{ids: make(map[string]uint32)}
	for i, d := range append(detNames[:], Policy) { // IDs: the Engine's det values
		t.ids[d] = uint32(i)
		t.strs, t.refs = append(t.strs, d), append(t.refs, 1)
	}
	return t
}

// id returns the ID of s, and false if s is not interned.
func (t *texts) id(s string) (uint32, bool) {
	switch s { // the Engine's own names, without hashing
	case Exfiltration:
		return uint32(detExfil), true
	case Reject:
		return uint32(detReject), true
	case PortScan:
		return uint32(detScan), true
	}
	id, ok := t.ids[s]
	return id, ok
}

// add interns s (not counting a use) and returns its ID.
func (t *texts) add(s string) uint32 {
	if id, ok := t.id(s); ok {
		return id
	}
	s = strings.Clone(s)
	var id uint32
	if n := len(t.unused); n > 0 {
		id = t.unused[n-1]
		t.unused = t.unused[:n-1]
		t.strs[id], t.refs[id] = s, 0
	} else {
		id = uint32(len(t.strs))
		t.strs, t.refs = append(t.strs, s), append(t.refs, 0)
	}
	t.ids[s] = id
	return id
}

// use counts (+1) or uncounts (-1) a key's use of the texts in k.
func (t *texts) use(k *memKey, delta int32) {
	t.ref(k.det, delta)
	if k.kinds&3 == kindText {
		t.ref(textID(k.src), delta)
	}
	if k.kinds>>2 == kindText {
		t.ref(textID(k.dst), delta)
	}
}

func (t *texts) ref(id uint32, delta int32) {
	t.refs[id] += delta
	if t.refs[id] == 0 {
		delete(t.ids, t.strs[id])
		t.strs[id] = ""
		t.unused = append(t.unused, id)
	}
}

func textID(b [16]byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// encode returns k's memKey. With add false it reports false when k cannot
// be held (it names a text never interned); with add true it interns what
// it must, without counting a use.
func (t *texts) encode(k *Key, add bool) (memKey, bool) {
	mk := memKey{win: k.Window, span: k.Span}
	var ok bool
	if mk.det, ok = t.id(k.Detector); !ok {
		if !add {
			return mk, false
		}
		mk.det = t.add(k.Detector)
	}
	sk, ok1 := t.addr(k.Src, &mk.src, add)
	dk, ok2 := t.addr(k.Dst, &mk.dst, add)
	mk.kinds = sk | dk<<2
	return mk, ok1 && ok2
}

func (t *texts) addr(s string, b *[16]byte, add bool) (uint8, bool) {
	kind, v, ok := compactAddr(s)
	if ok {
		*b = v
		return kind, true
	}
	id, ok := t.id(s)
	if !ok {
		if !add {
			return kindText, false
		}
		id = t.add(s)
	}
	b[0], b[1], b[2], b[3] = byte(id), byte(id>>8), byte(id>>16), byte(id>>24)
	return kindText, true
}

// decode returns the Key of mk.
func (t *texts) decode(mk *memKey) Key {
	return Key{Detector: t.strs[mk.det], Window: mk.win, Span: mk.span,
		Src: t.text(mk.kinds&3, &mk.src), Dst: t.text(mk.kinds>>2, &mk.dst)}
}

func (t *texts) text(kind uint8, b *[16]byte) string {
	switch kind {
	case kindV4:
		return netip.AddrFrom4([4]byte(b[:4])).String()
	case kindV6:
		return netip.AddrFrom16(*b).String()
	case kindText:
		return t.strs[textID(*b)]
	}
	return ""
}
