// Package invtest builds, through the EC2 API (moto in tests), a network
// laid out as the reference networks describe (the tradai preset): a VPC
// with public, private and database subnets in two zones, security groups
// that reference each other, one network ACL per tier, route tables, an
// internet gateway, a NAT gateway, an S3 gateway endpoint and a
// customer-managed prefix list.
package invtest

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Network holds the IDs of what Build created.
type Network struct {
	VPC                          string
	Public, Private, Database    [2]string // subnets, zone a and b
	ALB, ECS, Lambda, RDS, VPCE  string    // security groups
	PublicACL, PrivateACL, DBACL string
	IGW, NAT, NATENI, NATIP      string
	PrivateRT, PublicRT, DBRT    string
	Endpoint, PrefixList         string
}

// Build creates the network and returns its IDs.
func Build(ctx context.Context, c *ec2.Client) (*Network, error) {
	b := &builder{ctx: ctx, c: c}
	n := b.build()
	if b.err != nil {
		return nil, b.err
	}
	return n, nil
}

type builder struct {
	ctx context.Context
	c   *ec2.Client
	err error
}

func (b *builder) fail(what string, err error) {
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("build network: %s: %w", what, err)
	}
}

// applied is err, or nil when it says the rule, entry or route already
// exists: the SDK retried a request whose answer a loaded moto lost ("use
// of closed network connection") after applying it.
func applied(err error) error {
	switch code(err) {
	case "InvalidPermission.Duplicate", "NetworkAclEntryAlreadyExists", "RouteAlreadyExists":
		return nil
	}
	return err
}

// code returns the API error code of err, or "".
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func nameTag(kind types.ResourceType, name string) []types.TagSpecification {
	return []types.TagSpecification{{ResourceType: kind, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

func (b *builder) build() *Network {
	ctx, c := b.ctx, b.c
	n := &Network{}
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: nameTag(types.ResourceTypeVpc, "tradai-vpc")})
	if b.fail("vpc", err); b.err != nil {
		return nil
	}
	n.VPC = *vpc.Vpc.VpcId
	subnet := func(cidr, az, name string) string {
		out, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &n.VPC, CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az),
			TagSpecifications: nameTag(types.ResourceTypeSubnet, name)})
		if b.fail("subnet "+cidr, err); b.err != nil {
			return ""
		}
		return *out.Subnet.SubnetId
	}
	n.Public = [2]string{subnet("10.0.1.0/24", "us-east-1a", "tradai-public-a"), subnet("10.0.2.0/24", "us-east-1b", "tradai-public-b")}
	n.Private = [2]string{subnet("10.0.11.0/24", "us-east-1a", "tradai-private-a"), subnet("10.0.12.0/24", "us-east-1b", "tradai-private-b")}
	n.Database = [2]string{subnet("10.0.20.0/24", "us-east-1a", "tradai-db-a"), subnet("10.0.21.0/24", "us-east-1b", "tradai-db-b")}
	if b.err != nil {
		return nil
	}
	b.groups(n)
	b.acls(n)
	b.routes(n)
	return n
}

func (b *builder) group(vpc, name string) string {
	out, err := b.c.CreateSecurityGroup(b.ctx, &ec2.CreateSecurityGroupInput{VpcId: &vpc, GroupName: aws.String(name), Description: aws.String(name)})
	if code(err) == "InvalidGroup.Duplicate" { // a retry of a creation moto applied: the group is there
		gs, derr := b.c.DescribeSecurityGroups(b.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{name}}}})
		if derr == nil && len(gs.SecurityGroups) == 1 {
			return *gs.SecurityGroups[0].GroupId
		}
	}
	if b.fail("security group "+name, err); b.err != nil {
		return ""
	}
	return *out.GroupId
}

// tcp is a TCP permission on a port range from (or to) CIDRs or a group.
func tcp(from, to int32, cidr, group string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
	if cidr != "" {
		p.IpRanges = []types.IpRange{{CidrIp: aws.String(cidr)}}
	}
	if group != "" {
		p.UserIdGroupPairs = []types.UserIdGroupPair{{GroupId: aws.String(group)}}
	}
	return p
}

func (b *builder) groups(n *Network) {
	ctx, c := b.ctx, b.c
	n.ALB, n.ECS, n.Lambda = b.group(n.VPC, "tradai-alb-sg"), b.group(n.VPC, "tradai-ecs-sg"), b.group(n.VPC, "tradai-lambda-sg")
	n.RDS, n.VPCE = b.group(n.VPC, "tradai-rds-sg"), b.group(n.VPC, "tradai-vpce-sg")
	if b.err != nil {
		return
	}
	// Every group starts with AWS's allow-all egress; the reference design
	// lists explicit egress instead.
	for _, g := range []string{n.ALB, n.ECS, n.Lambda, n.RDS} {
		_, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(g),
			IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
		b.fail("revoke default egress", err)
	}
	in := func(g string, ps ...types.IpPermission) {
		_, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g), IpPermissions: ps})
		b.fail("ingress "+g, applied(err))
	}
	out := func(g string, ps ...types.IpPermission) {
		_, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(g), IpPermissions: ps})
		b.fail("egress "+g, applied(err))
	}
	in(n.ALB, tcp(443, 443, "0.0.0.0/0", ""), tcp(80, 80, "0.0.0.0/0", ""))
	out(n.ALB, tcp(8000, 8002, "", n.ECS), tcp(5000, 5000, "", n.ECS))
	in(n.ECS, tcp(8000, 8000, "", n.ALB), tcp(8002, 8002, "", n.ALB), tcp(8002, 8002, "", n.Lambda), tcp(5000, 5000, "", n.ALB), tcp(5000, 5000, "", n.ECS))
	out(n.ECS, tcp(443, 443, "0.0.0.0/0", ""), tcp(5432, 5432, "", n.RDS))
	out(n.Lambda, tcp(8002, 8002, "", n.ECS), tcp(443, 443, "0.0.0.0/0", ""))
	in(n.RDS, tcp(5432, 5432, "", n.ECS))
	in(n.VPCE, tcp(443, 443, "10.0.0.0/16", ""))
}

// entry is one network-ACL rule: TCP on a port range unless proto is "-1".
type entry struct {
	num      int32
	egress   bool
	proto    string
	from, to int32
	cidr     string
	allow    bool
}

func (b *builder) acl(n *Network, name string, subnets []string, entries []entry) string {
	ctx, c := b.ctx, b.c
	out, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: &n.VPC, TagSpecifications: nameTag(types.ResourceTypeNetworkAcl, name)})
	if b.fail("network acl "+name, err); b.err != nil {
		return ""
	}
	id := *out.NetworkAcl.NetworkAclId
	for _, e := range entries {
		in := &ec2.CreateNetworkAclEntryInput{NetworkAclId: &id, RuleNumber: aws.Int32(e.num), Egress: aws.Bool(e.egress),
			Protocol: aws.String(e.proto), CidrBlock: aws.String(e.cidr), RuleAction: types.RuleActionDeny}
		if e.allow {
			in.RuleAction = types.RuleActionAllow
		}
		if e.proto != "-1" {
			in.PortRange = &types.PortRange{From: aws.Int32(e.from), To: aws.Int32(e.to)}
		}
		_, err := c.CreateNetworkAclEntry(ctx, in)
		b.fail(fmt.Sprintf("acl %s entry %d", name, e.num), applied(err))
	}
	// Move the subnets from the default ACL to this one.
	acls, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []types.Filter{{Name: aws.String("association.subnet-id"), Values: subnets}}})
	if b.fail("find acl associations", err); b.err != nil {
		return id
	}
	for _, a := range acls.NetworkAcls {
		for _, as := range a.Associations {
			for _, s := range subnets {
				if aws.ToString(as.SubnetId) == s {
					_, err := c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: as.NetworkAclAssociationId, NetworkAclId: &id})
					if err != nil && b.associated(id, s) {
						err = nil // a retry of a replacement moto applied (its old association is gone)
					}
					b.fail("associate acl", err)
				}
			}
		}
	}
	return id
}

// associated reports whether subnet is associated with network ACL id.
func (b *builder) associated(id, subnet string) bool {
	out, err := b.c.DescribeNetworkAcls(b.ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{id}})
	if err != nil || len(out.NetworkAcls) != 1 {
		return false
	}
	for _, as := range out.NetworkAcls[0].Associations {
		if aws.ToString(as.SubnetId) == subnet {
			return true
		}
	}
	return false
}

func (b *builder) acls(n *Network) {
	const tcp = "6"
	n.PublicACL = b.acl(n, "tradai-public-nacl", n.Public[:], []entry{
		{100, false, tcp, 443, 443, "0.0.0.0/0", true},
		{110, false, tcp, 80, 80, "0.0.0.0/0", true},
		{120, false, tcp, 1024, 65535, "0.0.0.0/0", true},
		{100, true, tcp, 443, 443, "0.0.0.0/0", true},
		{110, true, tcp, 80, 80, "0.0.0.0/0", true},
		{120, true, tcp, 8000, 8002, "10.0.0.0/16", true},
		{130, true, tcp, 5000, 5000, "10.0.0.0/16", true},
		{140, true, tcp, 1024, 65535, "0.0.0.0/0", true},
	})
	n.PrivateACL = b.acl(n, "tradai-private-nacl", n.Private[:], []entry{
		{100, false, tcp, 8000, 8002, "10.0.1.0/24", true},
		{110, false, tcp, 8000, 8002, "10.0.2.0/24", true},
		{120, false, tcp, 5000, 5000, "10.0.0.0/16", true},
		{130, false, tcp, 1024, 65535, "0.0.0.0/0", true},
		{100, true, tcp, 443, 443, "0.0.0.0/0", true},
		{110, true, tcp, 5432, 5432, "10.0.20.0/24", true},
		{120, true, tcp, 5432, 5432, "10.0.21.0/24", true},
		{130, true, tcp, 1024, 65535, "0.0.0.0/0", true},
	})
	n.DBACL = b.acl(n, "tradai-database-nacl", n.Database[:], []entry{
		{100, false, tcp, 5432, 5432, "10.0.11.0/24", true},
		{110, false, tcp, 5432, 5432, "10.0.12.0/24", true},
		{100, true, tcp, 1024, 65535, "10.0.11.0/24", true},
		{110, true, tcp, 1024, 65535, "10.0.12.0/24", true},
	})
}

func (b *builder) routes(n *Network) {
	ctx, c := b.ctx, b.c
	if b.err != nil {
		return
	}
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if b.fail("internet gateway", err); b.err != nil {
		return
	}
	n.IGW = *igw.InternetGateway.InternetGatewayId
	_, err = c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &n.IGW, VpcId: &n.VPC})
	b.fail("attach internet gateway", err)
	eip, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if b.fail("elastic ip", err); b.err != nil {
		return
	}
	nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(n.Public[0]), AllocationId: eip.AllocationId,
		TagSpecifications: nameTag(types.ResourceTypeNatgateway, "tradai-nat-a")})
	if b.fail("nat gateway", err); b.err != nil {
		return
	}
	n.NAT = *nat.NatGateway.NatGatewayId
	for _, a := range nat.NatGateway.NatGatewayAddresses {
		n.NATENI, n.NATIP = aws.ToString(a.NetworkInterfaceId), aws.ToString(a.PrivateIp)
	}
	pl, err := c.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("tradai-partners"), AddressFamily: aws.String("IPv4"),
		MaxEntries: aws.Int32(5), Entries: []types.AddPrefixListEntry{{Cidr: aws.String("198.51.100.0/24"), Description: aws.String("partner")}}})
	if b.fail("prefix list", err); b.err != nil {
		return
	}
	n.PrefixList = *pl.PrefixList.PrefixListId
	// Partners reach the ALB on 8443 through the prefix list.
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &n.ALB, IpPermissions: []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8443), ToPort: aws.Int32(8443), PrefixListIds: []types.PrefixListId{{PrefixListId: &n.PrefixList}}}}})
	b.fail("prefix list rule", applied(err))
	rt := func(name string, subnets []string, routes ...ec2.CreateRouteInput) string {
		out, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: &n.VPC, TagSpecifications: nameTag(types.ResourceTypeRouteTable, name)})
		if b.fail("route table "+name, err); b.err != nil {
			return ""
		}
		id := *out.RouteTable.RouteTableId
		for _, r := range routes {
			r.RouteTableId = &id
			_, err := c.CreateRoute(ctx, &r)
			b.fail("route in "+name, applied(err))
		}
		for _, s := range subnets {
			_, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: &id, SubnetId: aws.String(s)})
			b.fail("associate "+name, err)
		}
		return id
	}
	n.PublicRT = rt("tradai-public-rt", n.Public[:], ec2.CreateRouteInput{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: &n.IGW})
	n.PrivateRT = rt("tradai-private-rt", n.Private[:], ec2.CreateRouteInput{DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: &n.NAT})
	n.DBRT = rt("tradai-db-rt", n.Database[:])
	ep, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: &n.VPC, ServiceName: aws.String("com.amazonaws.us-east-1.s3"),
		VpcEndpointType: types.VpcEndpointTypeGateway, RouteTableIds: []string{n.PrivateRT}})
	if b.fail("s3 gateway endpoint", err); b.err != nil {
		return
	}
	n.Endpoint = *ep.VpcEndpoint.VpcEndpointId
}

// ENI creates an interface in a subnet with a fixed address (or any, when
// ip is "") and groups, named by a Name tag when name is not "".
func ENI(ctx context.Context, c *ec2.Client, subnet, ip, name string, groups ...string) (string, error) {
	in := &ec2.CreateNetworkInterfaceInput{SubnetId: &subnet, Groups: groups, Description: aws.String(name)}
	if ip != "" {
		in.PrivateIpAddress = &ip
	}
	if name != "" {
		in.TagSpecifications = nameTag(types.ResourceTypeNetworkInterface, name)
	}
	out, err := c.CreateNetworkInterface(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create interface in %s: %w", subnet, err)
	}
	return *out.NetworkInterface.NetworkInterfaceId, nil
}
