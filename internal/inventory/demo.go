package inventory

import (
	"fmt"
	"time"
)

// DemoSnapshot returns the network of flowq demo: the tradai preset's
// layout (public, private and database tiers in two zones, a NAT instance,
// security groups referencing each other, one network ACL per tier, an S3
// gateway endpoint) at the addresses and interface IDs of the demo's
// synthetic traffic. Its DNS egress rules (udp 53) are the demo's only
// addition to the reference tables, because the demo's tasks use a public
// resolver.
func DemoSnapshot(taken time.Time) *Snapshot {
	const vpc = "vpc-0flowq0seed0001"
	sub := func(id, name, cidr, az string) Subnet {
		return Subnet{ID: id, Name: name, VPCID: vpc, AZ: az, CIDRs: []string{cidr}}
	}
	eni := func(id, ip, subnet, az, name, instance string, groups ...string) Interface {
		ifc := Interface{ID: id, Type: TypeInterface, SubnetID: subnet, VPCID: vpc, AZ: az, PrivateIPs: []string{ip},
			SecurityGroups: groups, SourceDestCheck: true, Status: "in-use", InstanceID: instance, Description: name, RequesterID: ""}
		if name != "" {
			ifc.Tags = map[string]string{"Name": name}
		}
		return ifc
	}
	tcp := func(from, to int, cidr, group, desc string) SGRule {
		return SGRule{Protocol: "tcp", FromPort: from, ToPort: to, CIDR: cidr, Group: group, Description: desc}
	}
	allow := func(num int, egress bool, proto string, from, to int, cidr string) ACLEntry {
		return ACLEntry{Number: num, Egress: egress, Protocol: proto, Allow: true, CIDR: cidr, FromPort: from, ToPort: to}
	}
	deny := func(egress bool) []ACLEntry {
		return []ACLEntry{{Number: 32767, Egress: egress, Protocol: "-1", CIDR: "0.0.0.0/0", FromPort: -1, ToPort: -1}}
	}
	const (
		sgALB, sgECS, sgRDS, sgNAT, sgVPCE, sgLambda = "sg-0alb", "sg-0ecs", "sg-0rds", "sg-0nat", "sg-0vpce", "sg-0lambda"
		natENI                                       = "eni-0a1b2c3d4e5f600aa"
		tcpN, udpN                                   = "6", "17"
	)
	s := &Snapshot{
		Version: SnapshotVersion, Taken: taken.UTC(), Region: "us-east-1", VPCID: vpc,
		VPCs: []VPC{{ID: vpc, Name: "tradai-vpc", CIDRs: []string{"10.0.0.0/16", "2600:1f18:1:100::/56"}}},
		Subnets: []Subnet{
			sub("subnet-0pub1", "tradai-public-a", "10.0.1.0/24", "us-east-1a"),
			sub("subnet-0pub2", "tradai-public-b", "10.0.2.0/24", "us-east-1b"),
			sub("subnet-0priv1", "tradai-private-a", "10.0.11.0/24", "us-east-1a"),
			sub("subnet-0priv2", "tradai-private-b", "10.0.12.0/24", "us-east-1b"),
			sub("subnet-0db1", "tradai-db-a", "10.0.21.0/24", "us-east-1a"),
			sub("subnet-0db2", "tradai-db-b", "10.0.22.0/24", "us-east-1b"),
		},
		Interfaces: []Interface{
			eni("eni-0a1b2c3d4e5f60001", "10.0.1.25", "subnet-0pub1", "us-east-1a", "tradai-alb", "", sgALB),
			eni("eni-0a1b2c3d4e5f60002", "10.0.2.25", "subnet-0pub2", "us-east-1b", "tradai-alb", "", sgALB),
			eni("eni-0a1b2c3d4e5f60011", "10.0.11.50", "subnet-0priv1", "us-east-1a", "tradai-backend-api", "", sgECS),
			eni("eni-0a1b2c3d4e5f60012", "10.0.11.51", "subnet-0priv1", "us-east-1a", "tradai-data-collection", "", sgECS),
			eni("eni-0a1b2c3d4e5f60013", "10.0.12.50", "subnet-0priv2", "us-east-1b", "tradai-backend-api", "", sgECS),
			eni("eni-0a1b2c3d4e5f60014", "10.0.12.51", "subnet-0priv2", "us-east-1b", "tradai-mlflow", "", sgECS),
			eni("eni-0a1b2c3d4e5f60021", "10.0.21.100", "subnet-0db1", "us-east-1a", "tradai-postgres", "", sgRDS),
			eni("eni-0a1b2c3d4e5f60022", "10.0.22.100", "subnet-0db2", "us-east-1b", "tradai-postgres-standby", "", sgRDS),
			eni("eni-0a1b2c3d4e5f600ee", "10.0.11.200", "subnet-0priv1", "us-east-1a", "tradai-secretsmanager-endpoint", "", sgVPCE),
			eni(natENI, "10.0.1.10", "subnet-0pub1", "us-east-1a", "", "i-0flowq0nat0001", sgNAT),
		},
		Instances: []Instance{{ID: "i-0flowq0nat0001", Name: "tradai-nat-instance", Type: "t4g.nano"}},
		SecurityGroups: []SecurityGroup{
			{ID: sgALB, Name: "tradai-alb-sg", VPCID: vpc,
				Ingress: []SGRule{tcp(443, 443, "0.0.0.0/0", "", "HTTPS from internet"), tcp(443, 443, "::/0", "", "HTTPS from internet (IPv6)"), tcp(80, 80, "0.0.0.0/0", "", "HTTP redirect to HTTPS")},
				Egress:  []SGRule{tcp(8000, 8002, "", sgECS, "To ECS services"), tcp(5000, 5000, "", sgECS, "To MLflow service")}},
			{ID: sgECS, Name: "tradai-ecs-sg", VPCID: vpc,
				Ingress: []SGRule{tcp(8000, 8000, "", sgALB, "Backend API from ALB"), tcp(8002, 8002, "", sgALB, "Data Collection from ALB"),
					tcp(8002, 8002, "", sgLambda, "Data Collection from Lambda"), tcp(5000, 5000, "", sgALB, "MLflow from ALB"), tcp(5000, 5000, "", sgECS, "MLflow from other ECS tasks")},
				Egress: []SGRule{tcp(443, 443, "0.0.0.0/0", "", "HTTPS to AWS APIs (via NAT)"), tcp(5432, 5432, "", sgRDS, "PostgreSQL to RDS"),
					{Protocol: "udp", FromPort: 53, ToPort: 53, CIDR: "0.0.0.0/0", Description: "DNS"}}},
			{ID: sgLambda, Name: "tradai-lambda-sg", VPCID: vpc, Ingress: []SGRule{},
				Egress: []SGRule{tcp(8002, 8002, "", sgECS, "To Data Collection Service"), tcp(443, 443, "0.0.0.0/0", "", "HTTPS to AWS APIs (via NAT)")}},
			{ID: sgRDS, Name: "tradai-rds-sg", VPCID: vpc, Ingress: []SGRule{tcp(5432, 5432, "", sgECS, "PostgreSQL from ECS tasks")}, Egress: []SGRule{}},
			{ID: sgNAT, Name: "tradai-nat-sg", VPCID: vpc,
				Ingress: []SGRule{tcp(443, 443, "10.0.11.0/24", "", "HTTPS from private subnet AZ-1"), tcp(443, 443, "10.0.12.0/24", "", "HTTPS from private subnet AZ-2"),
					tcp(80, 80, "10.0.11.0/24", "", "HTTP from private subnet AZ-1"), tcp(80, 80, "10.0.12.0/24", "", "HTTP from private subnet AZ-2"),
					{Protocol: "udp", FromPort: 53, ToPort: 53, CIDR: "10.0.0.0/16", Description: "DNS"}},
				Egress: []SGRule{tcp(443, 443, "0.0.0.0/0", "", "HTTPS to internet"), tcp(80, 80, "0.0.0.0/0", "", "HTTP to internet"),
					{Protocol: "udp", FromPort: 53, ToPort: 53, CIDR: "0.0.0.0/0", Description: "DNS"}}},
			{ID: sgVPCE, Name: "tradai-vpce-sg", VPCID: vpc, Ingress: []SGRule{tcp(443, 443, "10.0.0.0/16", "", "HTTPS from VPC")},
				Egress: []SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Description: "All outbound"}}},
		},
		NetworkACLs: []NetworkACL{
			{ID: "acl-0public", Name: "tradai-public-nacl", VPCID: vpc, Subnets: []string{"subnet-0pub1", "subnet-0pub2"},
				Entries: append(append([]ACLEntry{
					allow(100, false, tcpN, 443, 443, "0.0.0.0/0"), allow(101, false, tcpN, 443, 443, "::/0"), allow(110, false, tcpN, 80, 80, "0.0.0.0/0"),
					allow(120, false, tcpN, 1024, 65535, "0.0.0.0/0"), allow(125, false, udpN, 53, 53, "10.0.0.0/16"), allow(126, false, udpN, 1024, 65535, "0.0.0.0/0"),
					allow(100, true, tcpN, 443, 443, "0.0.0.0/0"), allow(110, true, tcpN, 80, 80, "0.0.0.0/0"),
					allow(120, true, tcpN, 8000, 8002, "10.0.0.0/16"), allow(130, true, tcpN, 5000, 5000, "10.0.0.0/16"),
					allow(140, true, tcpN, 1024, 65535, "0.0.0.0/0"), allow(141, true, tcpN, 1024, 65535, "::/0"),
					allow(145, true, udpN, 53, 53, "0.0.0.0/0"), allow(146, true, udpN, 1024, 65535, "10.0.0.0/16"),
				}, deny(false)...), deny(true)...)},
			{ID: "acl-0private", Name: "tradai-private-nacl", VPCID: vpc, Subnets: []string{"subnet-0priv1", "subnet-0priv2"},
				Entries: append(append([]ACLEntry{
					allow(100, false, tcpN, 8000, 8002, "10.0.1.0/24"), allow(110, false, tcpN, 8000, 8002, "10.0.2.0/24"),
					allow(120, false, tcpN, 5000, 5000, "10.0.0.0/16"), allow(130, false, tcpN, 1024, 65535, "0.0.0.0/0"),
					allow(140, false, udpN, 1024, 65535, "0.0.0.0/0"),
					allow(100, true, tcpN, 443, 443, "0.0.0.0/0"), allow(110, true, tcpN, 5432, 5432, "10.0.21.0/24"),
					allow(120, true, tcpN, 5432, 5432, "10.0.22.0/24"), allow(130, true, tcpN, 1024, 65535, "0.0.0.0/0"),
					allow(140, true, udpN, 53, 53, "0.0.0.0/0"),
				}, deny(false)...), deny(true)...)},
			{ID: "acl-0database", Name: "tradai-database-nacl", VPCID: vpc, Subnets: []string{"subnet-0db1", "subnet-0db2"},
				Entries: append(append([]ACLEntry{
					allow(100, false, tcpN, 5432, 5432, "10.0.11.0/24"), allow(110, false, tcpN, 5432, 5432, "10.0.12.0/24"),
					allow(100, true, tcpN, 1024, 65535, "10.0.11.0/24"), allow(110, true, tcpN, 1024, 65535, "10.0.12.0/24"),
				}, deny(false)...), deny(true)...)},
		},
		RouteTables: []RouteTable{
			{ID: "rtb-0public", Name: "tradai-public-rt", VPCID: vpc, Subnets: []string{"subnet-0pub1", "subnet-0pub2"},
				Routes: []Route{{Destination: "10.0.0.0/16", Target: "local", State: "active"}, {Destination: "0.0.0.0/0", Target: "igw-0flowq", State: "active"}, {Destination: "::/0", Target: "igw-0flowq", State: "active"}}},
			{ID: "rtb-0private", Name: "tradai-private-rt", VPCID: vpc, Subnets: []string{"subnet-0priv1", "subnet-0priv2"},
				Routes: []Route{{Destination: "10.0.0.0/16", Target: "local", State: "active"}, {Destination: "0.0.0.0/0", Target: natENI, State: "active"},
					{PrefixList: "pl-63a5400a", Target: "vpce-0s3", State: "active"}}},
			{ID: "rtb-0database", Name: "tradai-db-rt", VPCID: vpc, Main: true, Subnets: []string{"subnet-0db1", "subnet-0db2"},
				Routes: []Route{{Destination: "10.0.0.0/16", Target: "local", State: "active"}}},
		},
		VPCEndpoints: []VPCEndpoint{{ID: "vpce-0s3", Type: "Gateway", Service: "com.amazonaws.us-east-1.s3", VPCID: vpc, RouteTables: []string{"rtb-0private"}}},
		PrefixLists:  []PrefixList{{ID: "pl-63a5400a", Name: "com.amazonaws.us-east-1.s3", CIDRs: []string{"52.216.0.0/15", "3.5.0.0/19", "54.231.0.0/16"}}},
	}
	// The public tier is dual-stack.
	s.Subnets[0].CIDRs = append(s.Subnets[0].CIDRs, "2600:1f18:1:101::/64")
	s.Subnets[1].CIDRs = append(s.Subnets[1].CIDRs, "2600:1f18:1:102::/64")
	// The ALB's interfaces are requester-managed by Elastic Load Balancing
	// and public.
	for i, pub := range []string{"192.0.2.25", "192.0.2.26"} {
		ifc := &s.Interfaces[i]
		ifc.RequesterManaged, ifc.RequesterID, ifc.Description = true, "amazon-elb", "ELB app/tradai-alb/0123456789abcdef"
		ifc.PublicIPs = []string{pub}
		ifc.IPv6 = []string{fmt.Sprintf("2600:1f18:1:10%d::25", i+1)}
	}
	// The NAT instance forwards others' packets, from a public address.
	nat := &s.Interfaces[len(s.Interfaces)-1]
	nat.SourceDestCheck, nat.PublicIPs = false, []string{"192.0.2.10"}
	return s
}
