package detect

import (
	"net/netip"
	"slices"
	"strings"
	"unsafe"
)

// Verdict memory of the policy detector. Flows repeat heavily (the same
// client, server, port and protocol, record after record) and internet
// peers that no rule tells apart share one verdict (PolicyRules.Class), so
// the detector judges each (source class, destination class, protocol,
// action) once per rules in force for each box of ports the judge says
// the verdict covers (PortBox: the client's ephemeral ports of a request
// to one service port, or of the replies from it). Everything is bounded:
// address texts in a direct-mapped cache, classes and verdicts in tables
// cleared when they reach their bound, and the row and peer caches in
// front of them (policyscan.go) of fixed size. A verdict is a pure function
// of its key, its ports and the rules, so a cleared table costs judgements
// again, never a different answer.

const (
	memoTexts    = 4096    // direct-mapped address texts per rules
	memoRows     = 1024    // record spellings per rules, in sets of two
	memoClasses  = 1 << 20 // classes per rules before everything is cleared
	memoVerdicts = 1 << 16 // verdicts (boxes) per rules before they are cleared
	memoRules    = 4       // rules remembered (snapshots in force)
	memoWalk     = 64      // boxes of a key looked at before judging again
	noClass      = ^uint32(0)
)

// textSlot caches the class of one address text of 1 to 16 bytes, which its
// length and (up to) first and last 8 bytes identify exactly.
type textSlot struct {
	w1, w2 uint64
	n      uint8
	id     uint32
}

// verdictKey packs a flow as the verdict table keys it: the classes' IDs
// (a), then protocol and action (b); the ports are in its boxes.
type verdictKey struct{ a, b uint64 }

// verdictSlot heads the list of a key's boxes (first: index+1 in boxes).
type verdictSlot struct {
	key   verdictKey
	first int32
	used  bool
}

// verdictBox is a verdict over a box of ports.
type verdictBox struct {
	ports ports16
	bad   bool  // the rules disagree with the flow: judge it exactly
	next  int32 // the key's next box, index+1 (0: none)
}

// ports16 is a PortBox in 16 bits a port.
type ports16 struct{ slo, shi, dlo, dhi uint16 }

// has tells whether the box holds the ports (each within 0-65535).
func (p ports16) has(srcPort, dstPort int) bool {
	return uint(srcPort-int(p.slo)) <= uint(p.shi-p.slo) && uint(dstPort-int(p.dlo)) <= uint(p.dhi-p.dlo)
}

// boxOf returns b in 16 bits, or the flow's own ports when b does not hold
// them or reaches beyond 0-65535 (a judge's mistake costs judgements, never
// a wrong answer).
func boxOf(b PortBox, srcPort, dstPort int) ports16 {
	if b.SrcLo < 0 || b.SrcLo > srcPort || b.SrcHi < srcPort || b.SrcHi > 0xffff ||
		b.DstLo < 0 || b.DstLo > dstPort || b.DstHi < dstPort || b.DstHi > 0xffff {
		return ports16{uint16(srcPort), uint16(srcPort), uint16(dstPort), uint16(dstPort)}
	}
	return ports16{uint16(b.SrcLo), uint16(b.SrcHi), uint16(b.DstLo), uint16(b.DstHi)}
}

// policyMemo is what the detector knows under one PolicyRules. Class IDs
// stay valid for a whole batch: the memory is cleared, when over its
// bounds, only between batches (trim).
type policyMemo struct {
	rules  PolicyRules
	rows   [memoRows / 2]rowSet
	peers  [memoPeers]peerSlot
	texts  [memoTexts]textSlot
	long   map[string]uint32     // texts the direct-mapped cache cannot key
	ids4   map[uint64]uint32     // IPv4 class → ID
	ids    map[netip.Addr]uint32 // IPv6 class → ID
	last   netip.Addr            // the class numbered last, and its ID
	lastID uint32
	lastOK bool
	reps   []netip.Addr  // ID → class
	slots  []verdictSlot // open addressing, linear probing
	boxes  []verdictBox  // the slots' lists

	// The IPv4 classes' first addresses, when the rules tell them
	// (ClassBounds4), and the ID of each (noClass until numbered).
	bounds4 []uint32
	ids4By  []uint32

	// sources tells which interface holds an address, when the rules do
	// (PolicySources); held remembers its answers per (interface-id,
	// address text), for the records the whole path's verdict flags.
	sources PolicySources
	held    map[heldKey]bool
}

// heldKey is an interface-id and an address text.
type heldKey struct{ eni, addr string }

// memoHeld bounds held: cleared when it reaches it.
const memoHeld = 4096

// ClassBounds4 may be implemented by PolicyRules: the first address of
// each IPv4 class, ascending from 0, so that Class of an IPv4 address is
// the greatest bound at or below it. The memory then finds an IPv4
// address's class by a search of its own, without calling Class.
type ClassBounds4 interface {
	ClassBounds4() []uint32
}

func newPolicyMemo(r PolicyRules) *policyMemo {
	m := &policyMemo{rules: r}
	m.sources, _ = r.(PolicySources)
	if b, ok := r.(ClassBounds4); ok {
		if v := b.ClassBounds4(); len(v) > 0 && v[0] == 0 && slices.IsSorted(v) {
			m.bounds4 = v
		}
	}
	m.clear()
	return m
}

// trim clears the memory when it holds more than its bounds.
func (m *policyMemo) trim() {
	if len(m.reps) >= memoClasses || len(m.long) >= memoClasses {
		m.clear()
	}
	if len(m.held) >= memoHeld {
		clear(m.held)
	}
}

// clear forgets everything.
func (m *policyMemo) clear() {
	m.texts = [memoTexts]textSlot{}
	m.rows = [memoRows / 2]rowSet{}
	m.peers = [memoPeers]peerSlot{}
	m.long = map[string]uint32{}
	m.held = map[heldKey]bool{}
	m.ids4 = map[uint64]uint32{}
	m.ids = map[netip.Addr]uint32{}
	m.reps = m.reps[:0]
	m.lastOK = false
	m.ids4By = slices.Repeat([]uint32{noClass}, len(m.bounds4))
	m.slots, m.boxes = make([]verdictSlot, 1024), m.boxes[:0]
}

// judge tells whether the rules disagree with the record's flow (false
// too when an address does not parse), as PolicyDetector.flag does.
func (m *policyMemo) judge(src, dst string, srcPort, dstPort, proto int, accepted bool) bool {
	s1, s2, okS := textKey(src)
	d1, d2, okD := textKey(dst)
	if !okS || !okD || uint(srcPort)|uint(dstPort) > 0xffff || uint(proto) > 0xff {
		return m.judgeOther(src, dst, srcPort, dstPort, proto, accepted)
	}
	key := flowMeta(len(src), len(dst), min(srcPort, dstPort), proto, accepted)
	set := &m.rows[rowHash(s1, s2, d1, d2, key)]
	if r := &set[0]; r.s1 == s1 && r.d1 == d1 && r.s2 == s2 && r.d2 == d2 && r.meta == key && r.ports.has(srcPort, dstPort) {
		return r.bad
	}
	return m.miss(set, src, dst, s1, s2, d1, d2, key, srcPort, dstPort, proto, accepted)
}

// words returns the first and last 8 bytes of a text of 1 to 16 bytes
// (for fewer than 8, the bytes and 0), which with its length identify it.
func words(s string) (uint64, uint64) {
	n := len(s)
	p := unsafe.Pointer(unsafe.StringData(s))
	if n >= 8 {
		return *(*uint64)(p), *(*uint64)(unsafe.Add(p, n-8))
	}
	var w uint64
	for i := range n {
		w = w<<8 | uint64(s[i])
	}
	return w, 0
}

// class returns the ID of the class of the address text s, or noClass
// when s is not an address.
func (m *policyMemo) class(s string) uint32 {
	n := len(s)
	if n == 0 || n > 16 {
		return m.classLong(s)
	}
	w1, w2 := words(s)
	h := (w1*0x9e3779b97f4a7c15 ^ w2*0xc2b2ae3d27d4eb4f ^ uint64(n)) >> 52 % memoTexts
	e := &m.texts[h]
	if e.n == uint8(n) && e.w1 == w1 && e.w2 == w2 {
		return e.id
	}
	id := m.classOf(s)
	*e = textSlot{w1: w1, w2: w2, n: uint8(n), id: id}
	return id
}

func (m *policyMemo) classLong(s string) uint32 {
	if id, ok := m.long[s]; ok {
		return id
	}
	id := m.classOf(s)
	m.long[strings.Clone(s)] = id
	return id
}

// classOf parses s and numbers its class.
func (m *policyMemo) classOf(s string) uint32 {
	var a netip.Addr
	if ip, ok := parseIPv4(s); ok { // the common case, without netip's parser
		if m.bounds4 != nil {
			return m.classOf4(ip)
		}
		a = netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return noClass
		}
		a = a.Unmap().WithZone("")
	}
	c := m.rules.Class(a)
	if m.lastOK && c == m.last { // internet peers: mostly one class
		return m.lastID
	}
	id := m.number(c)
	m.last, m.lastID, m.lastOK = c, id, true
	return id
}

// classOf4 returns the ID of the class of ip from the rules' IPv4 bounds.
func (m *policyMemo) classOf4(ip uint32) uint32 {
	return m.id4(m.bound4(ip))
}

// bound4 returns the index of ip's class in the rules' IPv4 bounds: the
// greatest bound at or below ip (b[0] is 0), found by halving a span
// without a data-dependent branch.
func (m *policyMemo) bound4(ip uint32) int {
	b := m.bounds4
	lo, n := 0, len(b)
	for n > 1 {
		half := n / 2
		if b[lo+half] <= ip {
			lo += half
		}
		n -= half
	}
	return lo
}

// span4 returns the first and last IPv4 address of class k of the bounds.
func (m *policyMemo) span4(k int) (uint32, uint32) {
	if k+1 < len(m.bounds4) {
		return m.bounds4[k], m.bounds4[k+1] - 1
	}
	return m.bounds4[k], ^uint32(0)
}

// id4 returns the ID of class k of the bounds, numbering it when new.
func (m *policyMemo) id4(k int) uint32 {
	if id := m.ids4By[k]; id != noClass {
		return id
	}
	u := m.bounds4[k]
	id := m.number(netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}))
	m.ids4By[k] = id
	return id
}

// number returns the ID of class c, numbering it when new.
func (m *policyMemo) number(c netip.Addr) uint32 {
	if c.Is4() {
		b := c.As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		if id, ok := m.ids4[v]; ok {
			return id
		}
		m.ids4[v] = uint32(len(m.reps))
	} else {
		if id, ok := m.ids[c]; ok {
			return id
		}
		m.ids[c] = uint32(len(m.reps))
	}
	m.reps = append(m.reps, c)
	return uint32(len(m.reps) - 1)
}

func hashVerdict(k verdictKey) uint64 {
	h := k.a*0x9e3779b97f4a7c15 ^ k.b*0xc2b2ae3d27d4eb4f
	return h ^ h>>31
}

// find returns the slot of k, or nil.
func (m *policyMemo) find(k verdictKey) *verdictSlot {
	mask := uint64(len(m.slots) - 1)
	for h := hashVerdict(k) & mask; ; h = (h + 1) & mask {
		s := &m.slots[h]
		if !s.used {
			return nil
		}
		if s.key == k {
			return s
		}
	}
}

// put remembers a verdict over a box of ports for k.
func (m *policyMemo) put(k verdictKey, ports ports16, bad bool) {
	if len(m.boxes) >= memoVerdicts {
		m.slots, m.boxes = make([]verdictSlot, 1024), m.boxes[:0]
	}
	s := m.find(k)
	if s == nil {
		if (len(m.boxes)+1)*2 > len(m.slots) { // keys are at most boxes
			old := m.slots
			m.slots = make([]verdictSlot, len(old)*2)
			for i := range old {
				if old[i].used {
					*m.slot(old[i].key) = old[i]
				}
			}
		}
		s = m.slot(k)
		*s = verdictSlot{key: k, used: true}
	}
	m.boxes = append(m.boxes, verdictBox{ports: ports, bad: bad, next: s.first})
	s.first = int32(len(m.boxes))
}

// slot returns the empty slot where k goes.
func (m *policyMemo) slot(k verdictKey) *verdictSlot {
	mask := uint64(len(m.slots) - 1)
	h := hashVerdict(k) & mask
	for m.slots[h].used {
		h = (h + 1) & mask
	}
	return &m.slots[h]
}

// verdict tells whether the rules disagree with the flow from class src to
// class dst (logged on the source's interface when atSrc: PolicyFlow), judging
// it when no box of its key holds its ports. It returns the box the answer
// holds for.
func (m *policyMemo) verdict(src, dst uint32, srcPort, dstPort, proto int, accepted, atSrc bool) (bool, ports16) {
	k := verdictKey{a: uint64(src)<<32 | uint64(dst), b: uint64(proto&0xff) << 8}
	if accepted {
		k.b |= 1
	}
	if atSrc {
		k.b |= 2
	}
	if s := m.find(k); s != nil {
		// The key's boxes, the last used first; past memoWalk of them a
		// flow is judged again (a class pair with ports everywhere costs
		// judgements, not a walk of every box).
		prev := int32(0)
		for i, n := s.first, 0; i != 0 && n < memoWalk; i, n = m.boxes[i-1].next, n+1 {
			b := &m.boxes[i-1]
			if !b.ports.has(srcPort, dstPort) {
				prev = i
				continue
			}
			if prev != 0 { // to the front
				m.boxes[prev-1].next, b.next, s.first = b.next, s.first, i
			}
			return b.bad, b.ports
		}
	}
	_, bad, box := m.rules.Judge(PolicyFlow{Src: m.reps[src], Dst: m.reps[dst], SrcPort: srcPort, DstPort: dstPort, Protocol: proto, Accepted: accepted, AtSource: atSrc})
	ports := boxOf(box, srcPort, dstPort)
	m.put(k, ports, bad)
	return bad, ports
}

// atSource tells whether the interface eni holds the address text src
// (PolicySources), so that its record from src is the source's own; false
// when the rules cannot tell.
func (m *policyMemo) atSource(eni, src string) bool {
	if m.sources == nil || eni == "" {
		return false
	}
	if v, ok := m.held[heldKey{eni, src}]; ok {
		return v
	}
	a, err := netip.ParseAddr(src)
	v := err == nil && m.sources.Holds(eni, a.Unmap().WithZone(""))
	m.held[heldKey{strings.Clone(eni), strings.Clone(src)}] = v
	return v
}

// judgeAtSource tells whether the rules disagree with an ACCEPTed record
// logged on its source's own interface: whether the source's checks
// refused what its interface let out. Only records the whole path's
// verdict flags are asked about: the source's checks are some of the
// path's, so a record the path allows they allow.
func (m *policyMemo) judgeAtSource(src, dst string, srcPort, dstPort, proto int) bool {
	si, di := m.class(src), m.class(dst)
	if si == noClass || di == noClass {
		return false
	}
	if uint(srcPort)|uint(dstPort) > 0xffff || uint(proto) > 0xff {
		_, bad, _ := m.rules.Judge(PolicyFlow{Src: m.reps[si], Dst: m.reps[di], SrcPort: srcPort, DstPort: dstPort, Protocol: proto, Accepted: true, AtSource: true})
		return bad
	}
	bad, _ := m.verdict(si, di, srcPort, dstPort, proto, true, true)
	return bad
}
