package inventory

import (
	"net/netip"
	"slices"
	"strings"
)

// Index answers lookups over one snapshot: interfaces by ID or address,
// subnets, groups, ACLs and route tables by ID or by the subnet they govern.
// Build it once per snapshot with NewIndex; it is read-only afterwards and
// safe for concurrent use.
type Index struct {
	Snap *Snapshot

	ifaceByID   map[string]*Interface
	ifaceByAddr map[netip.Addr]*Interface
	subnetByID  map[string]*Subnet
	subnetPfx   []subnetPrefix
	sgByID      map[string]*SecurityGroup
	aclBySubnet map[string]*NetworkACL
	defaultACL  map[string]*NetworkACL // by VPC
	rtBySubnet  map[string]*RouteTable
	mainRT      map[string]*RouteTable // by VPC
	plByID      map[string]*PrefixList
	instByID    map[string]*Instance
	natByENI    map[string]*NATGateway
	natHosts    map[string]bool // interfaces of NAT gateways and NAT instances
	sgMembers   map[string][]netip.Addr
	natList     []string                     // natHosts' keys
	aclSorted   map[*NetworkACL][2][]ACLRule // ingress, egress; by rule number
	prefixes    map[string]netip.Prefix      // every CIDR of the rules, parsed
}

type subnetPrefix struct {
	pfx netip.Prefix
	sub *Subnet
}

// NewIndex indexes s. Malformed addresses in s are skipped.
func NewIndex(s *Snapshot) *Index {
	x := &Index{
		Snap:        s,
		ifaceByID:   make(map[string]*Interface, len(s.Interfaces)),
		ifaceByAddr: make(map[netip.Addr]*Interface, len(s.Interfaces)),
		subnetByID:  make(map[string]*Subnet, len(s.Subnets)),
		sgByID:      make(map[string]*SecurityGroup, len(s.SecurityGroups)),
		aclBySubnet: map[string]*NetworkACL{},
		defaultACL:  map[string]*NetworkACL{},
		rtBySubnet:  map[string]*RouteTable{},
		mainRT:      map[string]*RouteTable{},
		plByID:      map[string]*PrefixList{},
		instByID:    map[string]*Instance{},
		natByENI:    map[string]*NATGateway{},
		natHosts:    map[string]bool{},
		sgMembers:   map[string][]netip.Addr{},
		aclSorted:   map[*NetworkACL][2][]ACLRule{},
		prefixes:    map[string]netip.Prefix{},
	}
	addPrefix := func(c string) {
		if p, err := netip.ParsePrefix(c); err == nil {
			x.prefixes[c] = p
		}
	}
	for i := range s.Subnets {
		sub := &s.Subnets[i]
		x.subnetByID[sub.ID] = sub
		for _, c := range sub.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				x.subnetPfx = append(x.subnetPfx, subnetPrefix{p.Masked(), sub})
			}
		}
	}
	// Longest prefix first, so the first match is the most specific.
	slices.SortStableFunc(x.subnetPfx, func(a, b subnetPrefix) int { return b.pfx.Bits() - a.pfx.Bits() })
	for i := range s.Instances {
		x.instByID[s.Instances[i].ID] = &s.Instances[i]
	}
	for i := range s.NATGateways {
		n := &s.NATGateways[i]
		for _, e := range n.ENIs {
			x.natByENI[e] = n
			x.natHosts[e] = true
		}
	}
	for i := range s.Interfaces {
		ifc := &s.Interfaces[i]
		x.ifaceByID[ifc.ID] = ifc
		for _, list := range [][]string{ifc.PrivateIPs, ifc.IPv6, ifc.PublicIPs} {
			for _, a := range list {
				if ip, err := netip.ParseAddr(a); err == nil {
					if _, dup := x.ifaceByAddr[ip]; !dup {
						x.ifaceByAddr[ip] = ifc
					}
				}
			}
		}
		if ifc.Type == TypeNATGateway || (!ifc.SourceDestCheck && ifc.Type == TypeInterface) {
			x.natHosts[ifc.ID] = true
		}
		for _, g := range ifc.SecurityGroups {
			for _, a := range append(slices.Clone(ifc.PrivateIPs), ifc.IPv6...) {
				if ip, err := netip.ParseAddr(a); err == nil {
					x.sgMembers[g] = append(x.sgMembers[g], ip)
				}
			}
		}
	}
	for i := range s.SecurityGroups {
		g := &s.SecurityGroups[i]
		x.sgByID[g.ID] = g
		for _, r := range append(slices.Clone(g.Ingress), g.Egress...) {
			addPrefix(r.CIDR)
		}
	}
	for i := range s.NetworkACLs {
		a := &s.NetworkACLs[i]
		for _, e := range a.Entries {
			addPrefix(e.CIDR)
		}
		dirs := sortedRules(a, x.prefixes)
		x.aclSorted[a] = dirs
		if a.Default {
			x.defaultACL[a.VPCID] = a
		}
		for _, sub := range a.Subnets {
			x.aclBySubnet[sub] = a
		}
	}
	for i := range s.RouteTables {
		rt := &s.RouteTables[i]
		if rt.Main {
			x.mainRT[rt.VPCID] = rt
		}
		for _, sub := range rt.Subnets {
			x.rtBySubnet[sub] = rt
		}
		// A route to an instance's interface (a NAT instance) marks it.
		for _, r := range rt.Routes {
			addPrefix(r.Destination)
			if strings.HasPrefix(r.Target, "eni-") {
				x.natHosts[r.Target] = true
			}
		}
	}
	for eni := range x.natHosts {
		x.natList = append(x.natList, eni)
	}
	slices.Sort(x.natList)
	for i := range s.PrefixLists {
		x.plByID[s.PrefixLists[i].ID] = &s.PrefixLists[i]
		for _, c := range s.PrefixLists[i].CIDRs {
			addPrefix(c)
		}
	}
	return x
}

// ACLRule is a network-ACL entry with its protocol number and CIDR parsed
// (Valid false when the CIDR is malformed: it never matches).
type ACLRule struct {
	ACLEntry
	Proto  int // -1: all
	Prefix netip.Prefix
	Valid  bool
}

// ACLRules returns a network ACL's entries of one direction in rule-number
// order, parsed.
func (x *Index) ACLRules(acl *NetworkACL, egress bool) []ACLRule {
	d, ok := x.aclSorted[acl]
	if !ok { // an ACL not of this snapshot
		d = sortedRules(acl, nil)
	}
	if egress {
		return d[1]
	}
	return d[0]
}

func sortedRules(acl *NetworkACL, prefixes map[string]netip.Prefix) [2][]ACLRule {
	var d [2][]ACLRule
	for _, e := range acl.Entries {
		r := ACLRule{ACLEntry: e}
		proto, ok := ProtocolNumber(e.Protocol)
		if p, known := prefixes[e.CIDR]; known {
			r.Prefix, r.Valid = p, ok
		} else if p, err := netip.ParsePrefix(e.CIDR); err == nil {
			r.Prefix, r.Valid = p, ok
		}
		r.Proto = proto
		if e.Egress {
			d[1] = append(d[1], r)
		} else {
			d[0] = append(d[0], r)
		}
	}
	for _, l := range d {
		slices.SortStableFunc(l, func(p, q ACLRule) int { return p.Number - q.Number })
	}
	return d
}

// Prefix returns a CIDR of the snapshot's rules parsed (others are parsed
// on the spot); false when it is malformed.
func (x *Index) Prefix(cidr string) (netip.Prefix, bool) {
	if p, ok := x.prefixes[cidr]; ok {
		return p, true
	}
	p, err := netip.ParsePrefix(cidr)
	return p, err == nil
}

// Interface returns the interface with the given ID, or nil.
func (x *Index) Interface(id string) *Interface { return x.ifaceByID[id] }

// InterfaceByAddr returns the interface holding addr (private, public or
// IPv6), or nil.
func (x *Index) InterfaceByAddr(addr netip.Addr) *Interface { return x.ifaceByAddr[addr.Unmap()] }

// Subnet returns the subnet with the given ID, or nil.
func (x *Index) Subnet(id string) *Subnet { return x.subnetByID[id] }

// SubnetFor returns the most specific subnet whose range holds addr, or nil.
func (x *Index) SubnetFor(addr netip.Addr) *Subnet {
	addr = addr.Unmap()
	for _, sp := range x.subnetPfx {
		if sp.pfx.Contains(addr) {
			return sp.sub
		}
	}
	return nil
}

// SecurityGroup returns the group with the given ID, or nil.
func (x *Index) SecurityGroup(id string) *SecurityGroup { return x.sgByID[id] }

// GroupMembers returns the addresses of the interfaces in group id.
func (x *Index) GroupMembers(id string) []netip.Addr { return x.sgMembers[id] }

// NetworkACL returns the ACL governing a subnet: its association, else the
// VPC's default ACL; nil if neither is known.
func (x *Index) NetworkACL(sub *Subnet) *NetworkACL {
	if a := x.aclBySubnet[sub.ID]; a != nil {
		return a
	}
	return x.defaultACL[sub.VPCID]
}

// RouteTable returns the route table of a subnet: its association, else the
// VPC's main table; nil if neither is known.
func (x *Index) RouteTable(sub *Subnet) *RouteTable {
	if rt := x.rtBySubnet[sub.ID]; rt != nil {
		return rt
	}
	return x.mainRT[sub.VPCID]
}

// PrefixList returns the prefix list with the given ID, or nil.
func (x *Index) PrefixList(id string) *PrefixList { return x.plByID[id] }

// Instance returns the instance with the given ID, or nil.
func (x *Index) Instance(id string) *Instance { return x.instByID[id] }

// NATGateway returns the NAT gateway owning an interface, or nil.
func (x *Index) NATGateway(eni string) *NATGateway { return x.natByENI[eni] }

// IsNAT reports whether the interface belongs to a NAT gateway or a NAT
// instance (source/destination check off, or the target of a route).
func (x *Index) IsNAT(eni string) bool { return x.natHosts[eni] }

// NATInterfaces returns the interfaces IsNAT reports, sorted.
func (x *Index) NATInterfaces() []string { return x.natList }

// Name returns a human name for an interface: its Name tag, else its
// instance's Name tag, else its NAT gateway's name or ID; "" if none.
func (x *Index) Name(ifc *Interface) string {
	if ifc == nil {
		return ""
	}
	if n := ifc.Tags["Name"]; n != "" {
		return n
	}
	if in := x.instByID[ifc.InstanceID]; in != nil && in.Name != "" {
		return in.Name
	}
	if n := x.natByENI[ifc.ID]; n != nil {
		if n.Name != "" {
			return n.Name
		}
		return n.ID
	}
	return ""
}
