package report

import (
	"net/netip"
	"strings"

	"github.com/flowq/flowq/internal/inventory"
)

// Names gives the resource names the inventory knows; "" when it does not
// know. A nil Names leaves every name out.
type Names interface {
	// Host names the interface that has addr.
	Host(addr string) string
	// Subnet names the subnet holding addr and gives its CIDR.
	Subnet(addr string) (name, cidr string)
}

// IndexNames names hosts and subnets from an inventory snapshot: an
// interface's Name tag (or its instance's, or its NAT gateway's), a
// subnet's Name tag (or ID).
func IndexNames(x *inventory.Index) Names { return indexNames{x} }

type indexNames struct{ x *inventory.Index }

func (n indexNames) Host(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	return n.x.Name(n.x.InterfaceByAddr(a))
}

func (n indexNames) Subnet(addr string) (string, string) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", ""
	}
	s := n.x.SubnetFor(a)
	if s == nil {
		return "", ""
	}
	name := s.Name
	if name == "" {
		name = s.ID
	}
	for _, c := range s.CIDRs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(a.Unmap()) {
			return name, p.String()
		}
	}
	return name, ""
}

// name fills in the names the inventory knows: hosts of the top talkers,
// and the sankey's /24 groups relabelled as the subnet that holds them
// ("app-a 10.0.11.0/24") when the subnet is a /24 or wider (groups of a
// wider subnet merge).
func (d *Data) name(n Names) {
	if n == nil {
		return
	}
	for i := range d.Pairs {
		d.Pairs[i].SrcName = n.Host(d.Pairs[i].Src)
		d.Pairs[i].DstName = n.Host(d.Pairs[i].Dst)
	}
	for i := range d.Hosts {
		d.Hosts[i].Name = n.Host(d.Hosts[i].Addr)
	}
	label := func(g string) string {
		net, ok := strings.CutSuffix(g, ".0/24")
		if !ok {
			return g
		}
		name, cidr := n.Subnet(net + ".0")
		p, err := netip.ParsePrefix(cidr)
		if name == "" || err != nil || p.Bits() > 24 {
			return g
		}
		return name + " " + cidr
	}
	links := make([]Link, len(d.Sankey))
	for i, l := range d.Sankey {
		l.From, l.To = label(l.From), label(l.To)
		links[i] = l
	}
	d.Sankey = foldLinks(links, sankeyGroups)
}
