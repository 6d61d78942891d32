package resolve

import (
	"net/netip"

	"github.com/flowq/flowq/internal/inventory"
)

// places tells, for one snapshot, the addresses and subnets that several
// VPCs share: a region-wide snapshot of two deployments of one preset
// (both reference networks use 10.0.0.0/16), or of any VPCs whose ranges
// overlap. The index keeps one interface and one subnet per address, which
// may be the other VPC's; places picks the one of the VPC of the interface
// that logged the record, and none when that is unknown.
type places struct {
	shared  map[netip.Addr][]*inventory.Interface // addresses more than one interface holds
	subnets []placedSubnet                        // every subnet's ranges, when two VPCs' overlap
}

type placedSubnet struct {
	pfx netip.Prefix
	sub *inventory.Subnet
}

func newPlaces(x *inventory.Index) *places {
	p := &places{}
	holders := map[netip.Addr][]*inventory.Interface{}
	for i := range x.Snap.Interfaces {
		ifc := &x.Snap.Interfaces[i]
		for _, list := range [][]string{ifc.PrivateIPs, ifc.IPv6, ifc.PublicIPs} {
			for _, a := range list {
				if ip, err := netip.ParseAddr(a); err == nil {
					ip = ip.Unmap()
					if h := holders[ip]; len(h) == 0 || h[len(h)-1] != ifc {
						holders[ip] = append(h, ifc)
					}
				}
			}
		}
	}
	for ip, h := range holders {
		if len(h) > 1 {
			if p.shared == nil {
				p.shared = map[netip.Addr][]*inventory.Interface{}
			}
			p.shared[ip] = h
		}
	}
	var all []placedSubnet
	overlap := false
	for i := range x.Snap.Subnets {
		sub := &x.Snap.Subnets[i]
		for _, c := range sub.CIDRs {
			pfx, err := netip.ParsePrefix(c)
			if err != nil {
				continue
			}
			pfx = pfx.Masked()
			for _, o := range all {
				if o.sub.VPCID != sub.VPCID && o.pfx.Overlaps(pfx) {
					overlap = true
				}
			}
			all = append(all, placedSubnet{pfx, sub})
		}
	}
	if overlap {
		p.subnets = all
	}
	return p
}

// iface returns the interface of the snapshot holding ip, in VPC vpc when
// several VPCs' interfaces hold it (nil when vpc is "" or holds none or
// several), and whether ip is such a shared address.
func (p *places) iface(x *inventory.Index, ip netip.Addr, vpc string) (*inventory.Interface, bool) {
	h, ok := p.shared[ip]
	if !ok {
		return x.InterfaceByAddr(ip), false
	}
	var found *inventory.Interface
	for _, ifc := range h {
		if vpc != "" && ifc.VPCID == vpc {
			if found != nil {
				return nil, true
			}
			found = ifc
		}
	}
	return found, true
}

// subnet returns the subnet whose range holds ip, in VPC vpc when subnets
// of several VPCs hold it (nil when vpc is "" or holds none), and whether
// several VPCs' subnets hold it.
func (p *places) subnet(x *inventory.Index, ip netip.Addr, vpc string) (*inventory.Subnet, bool) {
	if p.subnets == nil {
		return x.SubnetFor(ip), false
	}
	var found *inventory.Subnet
	bits, vpcs := -1, map[string]bool{}
	for _, ps := range p.subnets {
		if !ps.pfx.Contains(ip) {
			continue
		}
		vpcs[ps.sub.VPCID] = true
		if (vpc == "" || ps.sub.VPCID == vpc) && ps.pfx.Bits() > bits {
			found, bits = ps.sub, ps.pfx.Bits()
		}
	}
	if len(vpcs) > 1 && vpc == "" {
		return nil, true
	}
	return found, len(vpcs) > 1
}
