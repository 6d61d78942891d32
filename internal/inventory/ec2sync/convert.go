package ec2sync

import (
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/internal/inventory"
)

// Conversions from the EC2 API's types to the snapshot's plain ones.

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i32(p *int32, def int) int {
	if p == nil {
		return def
	}
	return int(*p)
}

func tags(ts []types.Tag) map[string]string {
	if len(ts) == 0 {
		return nil
	}
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[str(t.Key)] = str(t.Value)
	}
	return m
}

func vpcFrom(v types.Vpc) inventory.VPC {
	out := inventory.VPC{ID: str(v.VpcId), Name: tags(v.Tags)["Name"]}
	for _, a := range v.CidrBlockAssociationSet {
		out.CIDRs = append(out.CIDRs, str(a.CidrBlock))
	}
	if len(out.CIDRs) == 0 && v.CidrBlock != nil {
		out.CIDRs = append(out.CIDRs, *v.CidrBlock)
	}
	for _, a := range v.Ipv6CidrBlockAssociationSet {
		out.CIDRs = append(out.CIDRs, str(a.Ipv6CidrBlock))
	}
	return out
}

func subnetFrom(s types.Subnet) inventory.Subnet {
	t := tags(s.Tags)
	out := inventory.Subnet{ID: str(s.SubnetId), Name: t["Name"], VPCID: str(s.VpcId), AZ: str(s.AvailabilityZone), Tags: t}
	if s.MapPublicIpOnLaunch != nil {
		out.Public = *s.MapPublicIpOnLaunch
	}
	if s.CidrBlock != nil {
		out.CIDRs = append(out.CIDRs, *s.CidrBlock)
	}
	for _, a := range s.Ipv6CidrBlockAssociationSet {
		out.CIDRs = append(out.CIDRs, str(a.Ipv6CidrBlock))
	}
	return out
}

func interfaceFrom(n types.NetworkInterface) inventory.Interface {
	out := inventory.Interface{
		ID:          str(n.NetworkInterfaceId),
		Type:        string(n.InterfaceType),
		Description: str(n.Description),
		RequesterID: str(n.RequesterId),
		SubnetID:    str(n.SubnetId),
		VPCID:       str(n.VpcId),
		AZ:          str(n.AvailabilityZone),
		Status:      string(n.Status),
		Tags:        tags(n.TagSet),
		// The API omits the flag on requester-managed interfaces; true is
		// EC2's default.
		SourceDestCheck: n.SourceDestCheck == nil || *n.SourceDestCheck,
	}
	switch out.Type {
	case "":
		out.Type = inventory.TypeInterface
	case string(types.NetworkInterfaceTypeNatGateway):
		out.Type = inventory.TypeNATGateway // "natGateway": flow logs' spelling
	}
	if n.RequesterManaged != nil {
		out.RequesterManaged = *n.RequesterManaged
	}
	if n.Attachment != nil {
		out.InstanceID = str(n.Attachment.InstanceId)
	}
	primary := str(n.PrivateIpAddress)
	if primary != "" {
		out.PrivateIPs = append(out.PrivateIPs, primary)
	}
	for _, a := range n.PrivateIpAddresses {
		if ip := str(a.PrivateIpAddress); ip != "" && ip != primary {
			out.PrivateIPs = append(out.PrivateIPs, ip)
		}
		if a.Association != nil && a.Association.PublicIp != nil {
			out.PublicIPs = appendNew(out.PublicIPs, *a.Association.PublicIp)
		}
	}
	if n.Association != nil && n.Association.PublicIp != nil {
		out.PublicIPs = appendNew(out.PublicIPs, *n.Association.PublicIp)
	}
	for _, a := range n.Ipv6Addresses {
		out.IPv6 = append(out.IPv6, str(a.Ipv6Address))
	}
	for _, g := range n.Groups {
		out.SecurityGroups = append(out.SecurityGroups, str(g.GroupId))
	}
	return out
}

func appendNew(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

func instanceFrom(in types.Instance) inventory.Instance {
	t := tags(in.Tags)
	return inventory.Instance{ID: str(in.InstanceId), Name: t["Name"], Type: string(in.InstanceType), Tags: t}
}

// primaryENI returns the ID of an instance's primary interface (device
// index 0), or "".
func primaryENI(in types.Instance) string {
	for _, n := range in.NetworkInterfaces {
		if n.Attachment != nil && n.Attachment.DeviceIndex != nil && *n.Attachment.DeviceIndex == 0 {
			return str(n.NetworkInterfaceId)
		}
	}
	return ""
}

func groupFrom(sg types.SecurityGroup) inventory.SecurityGroup {
	return inventory.SecurityGroup{
		ID:          str(sg.GroupId),
		Name:        str(sg.GroupName),
		Description: str(sg.Description),
		VPCID:       str(sg.VpcId),
		Tags:        tags(sg.Tags),
		Ingress:     sgRules(sg.IpPermissions),
		Egress:      sgRules(sg.IpPermissionsEgress),
	}
}

// sgRules flattens the API's permissions (several peers each) into one
// rule per peer.
func sgRules(perms []types.IpPermission) []inventory.SGRule {
	rules := []inventory.SGRule{}
	for _, p := range perms {
		base := inventory.SGRule{Protocol: str(p.IpProtocol), FromPort: i32(p.FromPort, -1), ToPort: i32(p.ToPort, -1)}
		for _, r := range p.IpRanges {
			rule := base
			rule.CIDR, rule.Description = str(r.CidrIp), str(r.Description)
			rules = append(rules, rule)
		}
		for _, r := range p.Ipv6Ranges {
			rule := base
			rule.CIDR, rule.Description = str(r.CidrIpv6), str(r.Description)
			rules = append(rules, rule)
		}
		for _, r := range p.PrefixListIds {
			rule := base
			rule.PrefixList, rule.Description = str(r.PrefixListId), str(r.Description)
			rules = append(rules, rule)
		}
		for _, r := range p.UserIdGroupPairs {
			rule := base
			rule.Group, rule.Description = str(r.GroupId), str(r.Description)
			rules = append(rules, rule)
		}
	}
	return rules
}

func aclFrom(a types.NetworkAcl) inventory.NetworkACL {
	t := tags(a.Tags)
	out := inventory.NetworkACL{ID: str(a.NetworkAclId), Name: t["Name"], VPCID: str(a.VpcId), Tags: t, Subnets: []string{}, Entries: []inventory.ACLEntry{}}
	if a.IsDefault != nil {
		out.Default = *a.IsDefault
	}
	for _, as := range a.Associations {
		if s := str(as.SubnetId); s != "" {
			out.Subnets = append(out.Subnets, s)
		}
	}
	for _, e := range a.Entries {
		en := inventory.ACLEntry{
			Number:   i32(e.RuleNumber, 32767),
			Protocol: str(e.Protocol),
			Allow:    e.RuleAction == types.RuleActionAllow,
			CIDR:     str(e.CidrBlock),
			FromPort: -1,
			ToPort:   -1,
		}
		if e.Egress != nil {
			en.Egress = *e.Egress
		}
		if en.CIDR == "" {
			en.CIDR = str(e.Ipv6CidrBlock)
		}
		if e.PortRange != nil {
			en.FromPort, en.ToPort = i32(e.PortRange.From, -1), i32(e.PortRange.To, -1)
		}
		out.Entries = append(out.Entries, en)
	}
	return out
}

func routeTableFrom(rt types.RouteTable) inventory.RouteTable {
	t := tags(rt.Tags)
	out := inventory.RouteTable{ID: str(rt.RouteTableId), Name: t["Name"], VPCID: str(rt.VpcId), Tags: t, Routes: []inventory.Route{}}
	for _, a := range rt.Associations {
		if a.Main != nil && *a.Main {
			out.Main = true
		}
		if s := str(a.SubnetId); s != "" {
			out.Subnets = append(out.Subnets, s)
		}
	}
	for _, r := range rt.Routes {
		dst := str(r.DestinationCidrBlock)
		if dst == "" {
			dst = str(r.DestinationIpv6CidrBlock)
		}
		out.Routes = append(out.Routes, inventory.Route{
			Destination: dst,
			PrefixList:  str(r.DestinationPrefixListId),
			Target:      routeTarget(r),
			State:       string(r.State),
		})
	}
	return out
}

// routeTarget names where a route sends traffic: the first target the API
// filled.
func routeTarget(r types.Route) string {
	for _, t := range []*string{r.NatGatewayId, r.TransitGatewayId, r.VpcPeeringConnectionId,
		r.EgressOnlyInternetGatewayId, r.LocalGatewayId, r.CarrierGatewayId, r.NetworkInterfaceId,
		r.InstanceId, r.GatewayId, r.CoreNetworkArn} {
		if t != nil && *t != "" {
			return *t
		}
	}
	return ""
}

func natFrom(n types.NatGateway) inventory.NATGateway {
	out := inventory.NATGateway{ID: str(n.NatGatewayId), Name: tags(n.Tags)["Name"], SubnetID: str(n.SubnetId), VPCID: str(n.VpcId), State: string(n.State)}
	for _, a := range n.NatGatewayAddresses {
		if e := str(a.NetworkInterfaceId); e != "" {
			out.ENIs = appendNew(out.ENIs, e)
		}
		if ip := str(a.PrivateIp); ip != "" {
			out.PrivateIPs = append(out.PrivateIPs, ip)
		}
		if ip := str(a.PublicIp); ip != "" {
			out.PublicIPs = append(out.PublicIPs, ip)
		}
	}
	return out
}

func endpointFrom(e types.VpcEndpoint) inventory.VPCEndpoint {
	out := inventory.VPCEndpoint{
		ID:          str(e.VpcEndpointId),
		Type:        string(e.VpcEndpointType),
		Service:     str(e.ServiceName),
		VPCID:       str(e.VpcId),
		RouteTables: e.RouteTableIds,
		Subnets:     e.SubnetIds,
		ENIs:        e.NetworkInterfaceIds,
	}
	for _, g := range e.Groups {
		out.SecurityGroups = append(out.SecurityGroups, str(g.GroupId))
	}
	return out
}
