package detect

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// snapshotMagic starts a MemoryState snapshot; the byte after it is the
// version.
const (
	snapshotMagic   = "FQMS"
	snapshotVersion = 1
)

// errSnapshot wraps every decoding failure of a snapshot.
var errSnapshot = errors.New("detect state snapshot")

// MarshalBinary encodes the state (window counters, ports, claims, sent
// flags, expiries and the applied batch tokens) compactly: varints, keys
// sorted, so the same state always encodes to the same bytes. The scheduled
// collector keeps it in its checkpoint between runs.
func (s *MemoryState) MarshalBinary() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type keyAt struct {
		k Key
		x uint32
	}
	keys := make([]keyAt, 0, s.index.n)
	for x := range uint32(s.slab.n) {
		if e := s.slab.at(x); e.live {
			keys = append(keys, keyAt{s.texts.decode(&e.key), x})
		}
	}
	slices.SortFunc(keys, func(a, b keyAt) int { return compareKeys(a.k, b.k) })
	b := append(make([]byte, 0, 64+len(keys)*48), snapshotMagic...)
	b = append(b, snapshotVersion)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	var t Totals
	var ports []uint16
	for _, kx := range keys {
		k, x := kx.k, kx.x
		ports = s.totals(x, &t, ports[:0])
		b = appendString(b, k.Detector)
		b = binary.AppendVarint(b, k.Window)
		b = appendString(b, k.Src)
		b = appendString(b, k.Dst)
		b = binary.AppendVarint(b, k.Span)
		for _, v := range [...]int64{t.Bytes, t.Packets, t.Count, t.Head, t.First, t.Last, t.ClaimedUntil, s.slab.at(x).expires} {
			b = binary.AppendVarint(b, v)
		}
		var flags byte
		if t.Sent {
			flags = 1
		}
		b = append(b, flags)
		b = appendString(b, t.ClaimedBy)
		b = binary.AppendUvarint(b, uint64(len(t.Ports)))
		prev := uint16(0)
		for _, p := range t.Ports { // sorted: deltas
			b = binary.AppendUvarint(b, uint64(p-prev))
			prev = p
		}
	}
	toks := make([]string, 0, len(s.batches))
	for t := range s.batches {
		toks = append(toks, t)
	}
	slices.Sort(toks)
	b = binary.AppendUvarint(b, uint64(len(toks)))
	for _, t := range toks {
		b = appendString(b, t)
		b = binary.AppendVarint(b, s.batches[t])
	}
	return b, nil
}

// UnmarshalBinary replaces the state with the one data encodes
// (MarshalBinary's output). On error the state is left unchanged.
func (s *MemoryState) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if !strings.HasPrefix(string(data), snapshotMagic) {
		return fmt.Errorf("%w: no %q header", errSnapshot, snapshotMagic)
	}
	d.b = d.b[len(snapshotMagic):]
	if v := d.byte(); v != snapshotVersion {
		return fmt.Errorf("%w: version %d, want %d", errSnapshot, v, snapshotVersion)
	}
	fresh := NewMemoryState()
	n := d.count()
	for i := uint64(0); i < n && d.err == nil; i++ {
		var k Key
		k.Detector = d.string()
		k.Window = d.varint()
		k.Src = d.string()
		k.Dst = d.string()
		k.Span = d.varint()
		var e memEntry
		for _, p := range [...]*int64{&e.bytes, &e.packets, &e.count, &e.head, &e.first, &e.last, &e.claimedUntil, &e.expires} {
			*p = d.varint()
		}
		e.sent = d.byte()&1 != 0
		var a memAux
		a.claimedBy = d.string()
		if np := d.count(); np > 0 && d.err == nil {
			a.ports = make([]uint16, 0, np)
			p := uint64(0)
			for range np {
				p += d.uvarint()
				if p > 65535 {
					d.fail("port %d", p)
					break
				}
				if l := len(a.ports); l == 0 || a.ports[l-1] != uint16(p) {
					a.ports = append(a.ports, uint16(p))
				}
			}
		}
		if d.err == nil {
			fresh.put(&k, e, a)
		}
	}
	batches := make(map[string]int64)
	n = d.count()
	for i := uint64(0); i < n && d.err == nil; i++ {
		t := d.string()
		batches[t] = d.varint()
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the end", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index, s.slab, s.free, s.aux, s.texts = fresh.index, fresh.slab, fresh.free, fresh.aux, fresh.texts
	s.batches, s.nextSweep = batches, 0
	return nil
}

func compareKeys(a, b Key) int {
	return cmp.Or(strings.Compare(a.Detector, b.Detector), cmp.Compare(a.Window, b.Window),
		strings.Compare(a.Src, b.Src), strings.Compare(a.Dst, b.Dst), cmp.Compare(a.Span, b.Span))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decoder reads a snapshot; the first failure sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errSnapshot}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("cut short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad or cut-short number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad or cut-short number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that the remaining bytes can hold (at least one
// byte per element), so a corrupt snapshot cannot make a huge allocation.
func (d *decoder) count() uint64 {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("count %d beyond the %d bytes left", n, len(d.b))
		return 0
	}
	return n
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
