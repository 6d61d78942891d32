// Package inventory holds a VPC's network configuration (interfaces,
// subnets, security groups, network ACLs, route tables, NAT gateways, VPC
// endpoints, prefix lists) as timestamped Snapshots, keeps every snapshot
// with the lake, and answers "what was this address or interface at that
// time". It imports no AWS SDK: internal/inventory/ec2sync reads snapshots
// through the EC2 API, so the ingest Lambda links only what it uses.
package inventory

import (
	"net/netip"
	"time"
)

// SnapshotVersion is the version of the snapshot document this package
// writes; Decode refuses newer ones.
const SnapshotVersion = 1

// Snapshot is the network configuration of one region (optionally one VPC)
// at one time. It is plain data: JSON in the lake, built by Sync or by hand.
type Snapshot struct {
	Version        int             `json:"version"`
	Taken          time.Time       `json:"taken"`
	Region         string          `json:"region,omitempty"`
	VPCID          string          `json:"vpc_id,omitempty"` // the filter the sync used, if any
	VPCs           []VPC           `json:"vpcs"`
	Subnets        []Subnet        `json:"subnets"`
	Interfaces     []Interface     `json:"interfaces"`
	Instances      []Instance      `json:"instances"`
	SecurityGroups []SecurityGroup `json:"security_groups"`
	NetworkACLs    []NetworkACL    `json:"network_acls"`
	RouteTables    []RouteTable    `json:"route_tables"`
	NATGateways    []NATGateway    `json:"nat_gateways"`
	VPCEndpoints   []VPCEndpoint   `json:"vpc_endpoints"`
	PrefixLists    []PrefixList    `json:"prefix_lists"`
	// Declared is what the deployment declared when the snapshot was taken
	// (nil: nothing published, or an older snapshot); see Declaration.
	Declared *Declaration `json:"declared,omitempty"`
}

// VPC is a VPC and its address ranges.
type VPC struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	CIDRs []string `json:"cidrs"` // IPv4 and IPv6
}

// Subnet is a subnet.
type Subnet struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"` // the Name tag
	VPCID  string            `json:"vpc_id"`
	AZ     string            `json:"az,omitempty"`
	CIDRs  []string          `json:"cidrs"` // IPv4 first, then IPv6
	Tags   map[string]string `json:"tags,omitempty"`
	Public bool              `json:"map_public_ip,omitempty"`
}

// Interface types as the EC2 API and flow logs' interface-type spell them.
const (
	TypeInterface  = "interface"
	TypeNATGateway = "nat_gateway"
	TypeVPCE       = "vpc_endpoint"
	TypeLambda     = "lambda"
)

// Interface is an elastic network interface.
type Interface struct {
	ID               string            `json:"id"`
	Type             string            `json:"type"` // interface, nat_gateway, vpc_endpoint, lambda, ...
	Description      string            `json:"description,omitempty"`
	RequesterID      string            `json:"requester_id,omitempty"`
	RequesterManaged bool              `json:"requester_managed,omitempty"`
	InstanceID       string            `json:"instance_id,omitempty"`
	SubnetID         string            `json:"subnet_id"`
	VPCID            string            `json:"vpc_id"`
	AZ               string            `json:"az,omitempty"`
	PrivateIPs       []string          `json:"private_ips"` // primary first
	PublicIPs        []string          `json:"public_ips,omitempty"`
	IPv6             []string          `json:"ipv6,omitempty"`
	SecurityGroups   []string          `json:"security_groups,omitempty"`
	SourceDestCheck  bool              `json:"source_dest_check"`
	Status           string            `json:"status,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// Instance is an EC2 instance, kept for its name.
type Instance struct {
	ID   string            `json:"id"`
	Name string            `json:"name,omitempty"`
	Type string            `json:"type,omitempty"`
	Tags map[string]string `json:"tags,omitempty"`
}

// SecurityGroup is a security group with its rules, one source or
// destination per rule.
type SecurityGroup struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	VPCID       string            `json:"vpc_id"`
	Tags        map[string]string `json:"tags,omitempty"`
	Ingress     []SGRule          `json:"ingress"`
	Egress      []SGRule          `json:"egress"`
}

// SGRule is one security-group rule with exactly one peer: CIDR (IPv4 or
// IPv6), Group or PrefixList. Protocol is "-1" (all), "tcp", "udp", "icmp",
// "icmpv6" or a protocol number; ports are -1 when the rule has none.
type SGRule struct {
	Protocol    string `json:"protocol"`
	FromPort    int    `json:"from_port"`
	ToPort      int    `json:"to_port"`
	CIDR        string `json:"cidr,omitempty"`
	Group       string `json:"group,omitempty"`
	PrefixList  string `json:"prefix_list,omitempty"`
	Description string `json:"description,omitempty"`
}

// NetworkACL is a network ACL and the subnets it governs.
type NetworkACL struct {
	ID      string            `json:"id"`
	Name    string            `json:"name,omitempty"`
	VPCID   string            `json:"vpc_id"`
	Default bool              `json:"default,omitempty"`
	Subnets []string          `json:"subnets"`
	Entries []ACLEntry        `json:"entries"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// ACLEntry is one numbered network-ACL rule. Number 32767 is the implicit
// final deny ("*"). Ports are -1 when the rule has none (all ports).
type ACLEntry struct {
	Number   int    `json:"number"`
	Egress   bool   `json:"egress"`
	Protocol string `json:"protocol"` // "-1" or a protocol number, as the API gives it
	Allow    bool   `json:"allow"`
	CIDR     string `json:"cidr"` // IPv4 or IPv6
	FromPort int    `json:"from_port"`
	ToPort   int    `json:"to_port"`
}

// RouteTable is a route table and its associations.
type RouteTable struct {
	ID      string            `json:"id"`
	Name    string            `json:"name,omitempty"`
	VPCID   string            `json:"vpc_id"`
	Main    bool              `json:"main,omitempty"`
	Subnets []string          `json:"subnets,omitempty"`
	Routes  []Route           `json:"routes"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// Route is one route: a destination (CIDR or prefix list) and its target
// ("local", igw-…, nat-…, eni-…, vpce-…, pcx-…, tgw-…, i-…).
type Route struct {
	Destination string `json:"destination,omitempty"` // CIDR, IPv4 or IPv6
	PrefixList  string `json:"prefix_list,omitempty"`
	Target      string `json:"target"`
	State       string `json:"state,omitempty"` // active or blackhole
}

// NATGateway is a NAT gateway with its interfaces and addresses.
type NATGateway struct {
	ID         string   `json:"id"`
	Name       string   `json:"name,omitempty"`
	SubnetID   string   `json:"subnet_id"`
	VPCID      string   `json:"vpc_id"`
	State      string   `json:"state,omitempty"`
	ENIs       []string `json:"enis"`
	PrivateIPs []string `json:"private_ips"`
	PublicIPs  []string `json:"public_ips,omitempty"`
}

// VPCEndpoint is a gateway or interface VPC endpoint.
type VPCEndpoint struct {
	ID             string   `json:"id"`
	Type           string   `json:"type"`
	Service        string   `json:"service"`
	VPCID          string   `json:"vpc_id"`
	RouteTables    []string `json:"route_tables,omitempty"`
	Subnets        []string `json:"subnets,omitempty"`
	ENIs           []string `json:"enis,omitempty"`
	SecurityGroups []string `json:"security_groups,omitempty"`
}

// PrefixList is an AWS-managed or customer-managed prefix list.
type PrefixList struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	CIDRs []string `json:"cidrs"`
}

// Contains reports whether the prefix list holds addr.
func (p *PrefixList) Contains(addr netip.Addr) bool {
	for _, c := range p.CIDRs {
		if pfx, err := netip.ParsePrefix(c); err == nil && pfx.Contains(addr) {
			return true
		}
	}
	return false
}
