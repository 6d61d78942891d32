package detect

import (
	"net/netip"
	"strings"
	"unsafe"
)

// Address table. IPv4 addresses written canonically (the common case) are
// parsed in place into their 32-bit value, which is their ID, and their
// memberships come from a small direct-mapped cache; any other address
// (IPv6, or IPv4 with leading zeros) goes through netip and a map to a
// table index.

const (
	maxAddrs = 1 << 20
	v6Bit    = 1 << 63
	v4Cache  = 4096
	strCache = 1024
	v4Direct = 16 // IPv4 prefixes up to which memberships are computed, not cached
)

const (
	fWatch uint16 = 1 << iota
	fExfilAllow
	fRejectSrc
	fRejectAllowSrc
	fRejectDst
	fRejectAllowDst
	fScanSrc
	fExfilAllowSrc
)

type addrInfo struct {
	canon string
	flags uint16
	ok    bool
	kind  uint8    // canon as a memKey address
	bin   [16]byte // (compactAddr)
}

type v4Entry struct {
	ip    uint32
	flags uint16
	set   bool
	canon string // set on first use as a key
}

// strEntry caches the lookup of an address string of 4 to 16 bytes, which
// its length and words (strWords) identify exactly.
type strEntry struct {
	w1, w2 uint64
	id     uint64
	n      uint8
	flags  uint16
	ok     bool
}

// v4Rule is one IPv4 prefix of a membership list, as integers.
type v4Rule struct {
	net, mask uint32
	bit       uint16
}

type addrTable struct {
	cfg   *Config
	rules []v4Rule // the IPv4 prefixes of every list, for flags4
	str   [strCache]strEntry
	v4    [v4Cache]v4Entry
	index map[string]uint32
	info  []addrInfo
}

func newAddrTable(cfg *Config) addrTable {
	t := addrTable{cfg: cfg, index: make(map[string]uint32)}
	t.eachList(func(list []netip.Prefix, bit uint16) {
		for _, p := range list {
			if p.Addr().Is4() {
				a := p.Addr().As4()
				mask := uint32(0)
				if p.Bits() > 0 {
					mask = ^uint32(0) << (32 - p.Bits())
				}
				t.rules = append(t.rules, v4Rule{net: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), mask: mask, bit: bit})
			}
		}
	})
	return t
}

// eachList calls fn with every membership list (its default when unset)
// and its flag.
func (t *addrTable) eachList(fn func([]netip.Prefix, uint16)) {
	cfg := t.cfg
	or := func(list, dflt []netip.Prefix) []netip.Prefix {
		if list == nil {
			return dflt
		}
		return list
	}
	fn(cfg.Watch, fWatch)
	fn(cfg.ExfilAllowDst, fExfilAllow)
	fn(or(cfg.RejectSrc, cfg.Watch), fRejectSrc)
	fn(cfg.RejectAllowSrc, fRejectAllowSrc)
	fn(or(cfg.RejectDst, anywhere), fRejectDst)
	fn(cfg.RejectAllowDst, fRejectAllowDst)
	fn(or(cfg.ScanSrc, cfg.Watch), fScanSrc)
	fn(cfg.ExfilAllowSrc, fExfilAllowSrc)
}

// flags4 returns the memberships of an IPv4 address.
func (t *addrTable) flags4(ip uint32) uint16 {
	var f uint16
	for _, r := range t.rules {
		if ip&r.mask == r.net {
			f |= r.bit
		}
	}
	return f
}

func (t *addrTable) reset() {
	clear(t.index)
	t.str = [strCache]strEntry{}
	t.info = t.info[:0]
}

// lookup returns the ID and memberships of the address s, and whether it
// parses.
func (t *addrTable) lookup(s string) (uint64, uint16, bool) {
	if w1, w2, ok := strWords(s); ok {
		if ce := t.slot(w1, w2, len(s)); ce.w1 == w1 && ce.w2 == w2 && ce.n == uint8(len(s)) {
			return ce.id, ce.flags, ce.ok
		}
	}
	return t.lookupMiss(s)
}

// lookupRows sets ids[i] and flags[i] to the ID and memberships of row i's
// address for every row in rows (all n rows if rows is nil): col's value,
// or alt's where col is null; flags[i] is srcBad where neither holds an
// address. The cache of address strings is probed in the loop, not
// through a call per row.
func (t *addrTable) lookupRows(col, alt *strCol, n int, rows []int32, ids []uint64, flags []uint16) {
	for k := 0; k < n; k++ {
		i := k
		if rows != nil {
			i = int(rows[k])
		}
		var s string
		switch {
		case col.IsValid(i):
			s = col.Value(i)
		case alt.IsValid(i):
			s = alt.Value(i)
		default:
			flags[i] = srcBad
			continue
		}
		if w1, w2, ok := strWords(s); ok {
			if ce := t.slot(w1, w2, len(s)); ce.w1 == w1 && ce.w2 == w2 && ce.n == uint8(len(s)) {
				ids[i], flags[i] = ce.id, ce.flags
				if !ce.ok {
					flags[i] = srcBad
				}
				continue
			}
		}
		id, f, ok := t.lookupMiss(s)
		if !ok {
			f = srcBad
		}
		ids[i], flags[i] = id, f
	}
}

// strWords returns two words that, with its length, identify an address
// string of 4 to 16 bytes: its first and last 8 bytes, or for a shorter one
// its first and last 4 (overlapping); false for other lengths.
func strWords(s string) (w1, w2 uint64, ok bool) {
	n := len(s)
	p := unsafe.Pointer(unsafe.StringData(s))
	switch {
	case n >= 8 && n <= 16:
		return *(*uint64)(p), *(*uint64)(unsafe.Add(p, n-8)), true
	case n >= 4 && n < 8: // "8.8.8.8"
		return uint64(*(*uint32)(p)) | uint64(*(*uint32)(unsafe.Add(p, n-4)))<<32, 0, true
	}
	return 0, 0, false
}

// slot returns the cache entry for the string of length n with words w1
// and w2 (strWords).
func (t *addrTable) slot(w1, w2 uint64, n int) *strEntry {
	return &t.str[(w1*0x9e3779b97f4a7c15^w2*0xc2b2ae3d27d4eb4f^uint64(n))>>52%strCache]
}

// lookupMiss is lookup past the cache of address strings, which it fills.
func (t *addrTable) lookupMiss(s string) (uint64, uint16, bool) {
	id, f, ok := t.lookupSlow(s)
	if w1, w2, cache := strWords(s); cache {
		*t.slot(w1, w2, len(s)) = strEntry{w1: w1, w2: w2, n: uint8(len(s)), id: id, flags: f, ok: ok}
	}
	return id, f, ok
}

func (t *addrTable) lookupSlow(s string) (uint64, uint16, bool) {
	if ip, ok := parseIPv4(s); ok {
		if len(t.rules) <= v4Direct {
			// Testing a few prefixes costs less than a likely miss in the
			// cache (a str miss is mostly a new address: an internet peer).
			return uint64(ip), t.flags4(ip), true
		}
		h := (ip * 2654435761) >> 20 % v4Cache
		ce := &t.v4[h]
		if !ce.set || ce.ip != ip {
			*ce = v4Entry{ip: ip, flags: t.flags4(ip), set: true}
		}
		return uint64(ip), ce.flags, true
	}
	i, ok := t.index[s]
	if !ok {
		i = uint32(len(t.info))
		t.index[strings.Clone(s)] = i
		var ai addrInfo
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap().WithZone("")
			ai = addrInfo{canon: a.String(), flags: t.flags(a), ok: true}
			ai.kind, ai.bin, _ = compactAddr(ai.canon)
		}
		t.info = append(t.info, ai)
	}
	ai := &t.info[i]
	return v6Bit | uint64(i), ai.flags, ai.ok
}

// canon returns the canonical text of an address ID.
func (t *addrTable) canon(id uint64) string {
	if id&v6Bit == 0 {
		ip := uint32(id)
		ce := &t.v4[(ip*2654435761)>>20%v4Cache]
		if !ce.set || ce.ip != ip {
			*ce = v4Entry{ip: ip, flags: t.flags4(ip), set: true}
		}
		if ce.canon == "" {
			ce.canon = netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}).String()
		}
		return ce.canon
	}
	return t.info[uint32(id)].canon
}

// compact writes the memKey address of an address ID to b and returns its
// kind: that of canon(id), without writing the text.
func (t *addrTable) compact(id uint64, b *[16]byte) uint8 {
	if id&v6Bit == 0 {
		*b = [16]byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)} // b may be reused: the rest zero
		return kindV4
	}
	ai := &t.info[uint32(id)]
	*b = ai.bin
	return ai.kind
}

func (t *addrTable) flags(a netip.Addr) uint16 {
	var f uint16
	t.eachList(func(list []netip.Prefix, bit uint16) {
		for _, p := range list {
			if p.Contains(a) {
				f |= bit
				return
			}
		}
	})
	return f
}

// parseIPv4 parses a dotted-quad IPv4 address written canonically (no
// leading zeros), the form flow logs use.
func parseIPv4(s string) (uint32, bool) {
	if len(s) < 7 || len(s) > 15 {
		return 0, false
	}
	var ip uint32
	i := 0
	for k := 0; k < 4; k++ {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, false
			}
			i++
		}
		if i >= len(s) {
			return 0, false
		}
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v := uint32(d)
		i++
		if d != 0 && i < len(s) {
			if d = s[i] - '0'; d <= 9 {
				v = v*10 + uint32(d)
				i++
				if i < len(s) {
					if d = s[i] - '0'; d <= 9 {
						v = v*10 + uint32(d)
						i++
						if v > 255 {
							return 0, false
						}
					}
				}
			}
		}
		ip = ip<<8 | v
	}
	return ip, i == len(s)
}

// canonical returns the canonical text of an address, or a copy of s if it
// does not parse (s may point into a batch's buffers).
func canonical(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return strings.Clone(s)
	}
	return a.Unmap().WithZone("").String()
}

var anywhere = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
