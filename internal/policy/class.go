package policy

import (
	"net/netip"
	"slices"

	"github.com/flowq/flowq/internal/inventory"
)

// Classes partitions the address space by what an evaluation against one
// snapshot can tell apart: every prefix the snapshot's rules name (security
// group and network ACL CIDRs, routes, prefix lists), its subnets and VPCs,
// and every address of its interfaces and NAT gateways, and the private
// ranges (where a peered VPC's interfaces are), cut the space into ranges. An evaluation reads an address only through those (which
// interface holds it, which subnet, which rules' prefixes contain it), so
// flows that differ only in addresses of one range get the same steps and
// the same verdict; only the rule texts that quote an address differ. The
// policy detector judges one flow per class instead of one per internet
// peer.
type Classes struct {
	v4 []uint32     // the ranges' first addresses, ascending, from 0
	v6 []netip.Addr // likewise for IPv6, from ::
}

// NewClasses computes the classes of the snapshot indexed by x.
func NewClasses(x *inventory.Index) *Classes {
	c := &Classes{v4: []uint32{0}, v6: []netip.Addr{netip.IPv6Unspecified()}}
	s := x.Snap
	cidr := func(list ...string) {
		for _, v := range list {
			if p, ok := x.Prefix(v); ok {
				c.addPrefix(p)
			}
		}
	}
	addr := func(list ...string) {
		for _, v := range list {
			if a, err := netip.ParseAddr(v); err == nil {
				a = a.Unmap()
				c.addPrefix(netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	// The private ranges: an address outside the snapshot may be a peered
	// VPC's interface there (see sgPeer.foreign).
	for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"} {
		c.addPrefix(netip.MustParsePrefix(p))
	}
	for i := range s.VPCs {
		cidr(s.VPCs[i].CIDRs...)
	}
	for i := range s.Subnets {
		cidr(s.Subnets[i].CIDRs...)
	}
	for i := range s.Interfaces {
		f := &s.Interfaces[i]
		addr(f.PrivateIPs...)
		addr(f.PublicIPs...)
		addr(f.IPv6...)
	}
	for i := range s.NATGateways {
		addr(s.NATGateways[i].PrivateIPs...)
		addr(s.NATGateways[i].PublicIPs...)
	}
	for i := range s.SecurityGroups {
		for _, r := range append(slices.Clone(s.SecurityGroups[i].Ingress), s.SecurityGroups[i].Egress...) {
			cidr(r.CIDR)
		}
	}
	for i := range s.NetworkACLs {
		for _, e := range s.NetworkACLs[i].Entries {
			cidr(e.CIDR)
		}
	}
	for i := range s.RouteTables {
		for _, r := range s.RouteTables[i].Routes {
			cidr(r.Destination)
		}
	}
	for i := range s.PrefixLists {
		cidr(s.PrefixLists[i].CIDRs...)
	}
	slices.Sort(c.v4)
	c.v4 = slices.Compact(c.v4)
	slices.SortFunc(c.v6, netip.Addr.Compare)
	c.v6 = slices.Compact(c.v6)
	return c
}

// addPrefix adds the bounds of p: its first address and the one after its
// last.
func (c *Classes) addPrefix(p netip.Prefix) {
	p = p.Masked()
	first := p.Addr()
	if first.Is4() {
		lo := v4(first)
		c.v4 = append(c.v4, lo)
		if hi := uint64(lo) + 1<<(32-p.Bits()); hi <= 0xffffffff {
			c.v4 = append(c.v4, uint32(hi))
		}
		return
	}
	c.v6 = append(c.v6, first)
	// The address after the last: the last with the host bits set, plus one.
	b := first.As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	if next := netip.AddrFrom16(b).Next(); next.IsValid() {
		c.v6 = append(c.v6, next)
	}
}

// Class returns the first address of the range that holds addr (see
// Classes): equal for addresses an evaluation cannot tell apart, and
// itself an address of the class.
func (c *Classes) Class(addr netip.Addr) netip.Addr {
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		v := v4(addr)
		i, found := slices.BinarySearch(c.v4, v)
		if !found {
			i--
		}
		u := c.v4[i]
		return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
	}
	i, found := slices.BinarySearchFunc(c.v6, addr, netip.Addr.Compare)
	if !found {
		i--
	}
	return c.v6[i]
}

// Bounds4 returns the first address of each IPv4 range as an integer,
// ascending from 0: the class of an IPv4 address is the greatest bound at
// or below it (Class answers that bound's address). The slice is a copy.
func (c *Classes) Bounds4() []uint32 { return slices.Clone(c.v4) }

// Len is the number of classes.
func (c *Classes) Len() int { return len(c.v4) + len(c.v6) }

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
