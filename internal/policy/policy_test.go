package policy_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/policy"
)

const (
	ecs1, ecs2, ecs4 = "10.0.11.50", "10.0.11.51", "10.0.12.51"
	rds1, rds2       = "10.0.21.100", "10.0.22.100"
	alb1             = "10.0.1.25"
	nat              = "10.0.1.10"
	vpce             = "10.0.11.200"
)

func q(src, dst string, port int, proto int) policy.Query {
	return policy.Query{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), DstPort: port, Protocol: proto}
}

func sg(s *inventory.Snapshot, id string) *inventory.SecurityGroup {
	for i := range s.SecurityGroups {
		if s.SecurityGroups[i].ID == id {
			return &s.SecurityGroups[i]
		}
	}
	panic("no group " + id)
}

func acl(s *inventory.Snapshot, id string) *inventory.NetworkACL {
	for i := range s.NetworkACLs {
		if s.NetworkACLs[i].ID == id {
			return &s.NetworkACLs[i]
		}
	}
	panic("no acl " + id)
}

func TestEvaluate(t *testing.T) {
	type want struct{ verdict, layer, rule, check string }
	for _, tc := range []struct {
		name   string
		mutate func(*inventory.Snapshot)
		query  policy.Query
		want   want
	}{
		// Security groups: references, statefulness.
		{"sg reference allows ecs to rds (rds has no egress: stateful)", nil, q(ecs1, rds1, 5432, 6),
			want{"allow", "security-group", "sg-0rds (tradai-rds-sg) ingress tcp 5432 from sg-0ecs (tradai-ecs-sg)", ""}},
		{"sg reference: alb is not in the ecs group", func(s *inventory.Snapshot) {
			// Let the ALB's own group and the ACLs allow it, so only the
			// database's group reference decides.
			sg(s, "sg-0alb").Egress = append(sg(s, "sg-0alb").Egress, inventory.SGRule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"})
			allowAll(acl(s, "acl-0public"))
			allowAll(acl(s, "acl-0database"))
		}, q(alb1, rds1, 5432, 6),
			want{"deny", "security-group", "sg-0rds (tradai-rds-sg) ingress: no rule allows tcp/5432 from 10.0.1.25", "destination security groups"}},
		{"source egress decides first: ssh from ecs to rds", nil, q(ecs2, rds1, 22, 6),
			want{"deny", "security-group", "sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/22 to 10.0.21.100", "source security groups"}},
		{"self reference: ingress alone is not enough, the reference design has no egress for it", nil, q(ecs1, ecs4, 5000, 6),
			want{"deny", "security-group", "sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/5000 to 10.0.12.51", "source security groups"}},
		{"self reference: mlflow between ecs tasks", addECSMLflowEgress, q(ecs1, ecs4, 5000, 6),
			want{"allow", "security-group", "sg-0ecs (tradai-ecs-sg) ingress tcp 5000 from sg-0ecs (tradai-ecs-sg)", ""}},
		// Network ACLs: rule numbers, order, ephemeral ports, both directions.
		{"acl rule numbers: a lower deny wins over a later allow", func(s *inventory.Snapshot) {
			a := acl(s, "acl-0database")
			// Listed after the allow: order of evaluation is by number.
			a.Entries = append(a.Entries, inventory.ACLEntry{Number: 90, Protocol: "6", CIDR: "10.0.11.51/32", FromPort: 5432, ToPort: 5432})
		}, q(ecs2, rds1, 5432, 6),
			want{"deny", "network-acl", "acl-0database (tradai-database-nacl) ingress rule 90 deny tcp 5432 from 10.0.11.51/32", "destination network acl, inbound"}},
		{"acl rule numbers: the neighbour the deny does not cover passes rule 100", func(s *inventory.Snapshot) {
			a := acl(s, "acl-0database")
			a.Entries = append(a.Entries, inventory.ACLEntry{Number: 90, Protocol: "6", CIDR: "10.0.11.51/32", FromPort: 5432, ToPort: 5432})
		}, q(ecs1, rds1, 5432, 6),
			want{"allow", "security-group", "sg-0rds (tradai-rds-sg) ingress tcp 5432 from sg-0ecs (tradai-ecs-sg)", ""}},
		{"acl implicit deny: outbound from private subnet to an unlisted port", func(s *inventory.Snapshot) {
			sg(s, "sg-0ecs").Egress = append(sg(s, "sg-0ecs").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "10.0.0.0/16"})
		}, q(ecs1, alb1, 22, 6),
			want{"deny", "network-acl", "acl-0private (tradai-private-nacl) egress rule * deny all to 0.0.0.0/0", "source network acl, outbound"}},
		{"acl return path: database replies need the ephemeral egress rule", func(s *inventory.Snapshot) {
			a := acl(s, "acl-0database")
			a.Entries = slices.DeleteFunc(a.Entries, func(e inventory.ACLEntry) bool { return e.Egress && e.Number == 100 })
		}, q(ecs1, rds1, 5432, 6),
			want{"deny", "network-acl", "acl-0database (tradai-database-nacl) egress rule * deny all to 0.0.0.0/0", "destination network acl, outbound replies"}},
		{"acl return path: a client port below the ephemeral range is dropped", nil,
			policy.Query{Src: netip.MustParseAddr(ecs1), Dst: netip.MustParseAddr(rds1), DstPort: 5432, SrcPort: 1000, Protocol: 6},
			want{"deny", "network-acl", "acl-0database (tradai-database-nacl) egress rule * deny all to 0.0.0.0/0", "destination network acl, outbound replies"}},
		{"acl return path: inbound replies at the source subnet", func(s *inventory.Snapshot) {
			a := acl(s, "acl-0private")
			a.Entries = slices.DeleteFunc(a.Entries, func(e inventory.ACLEntry) bool { return !e.Egress && e.Number == 130 })
		}, q(ecs1, rds1, 5432, 6),
			want{"deny", "network-acl", "acl-0private (tradai-private-nacl) ingress rule * deny all from 0.0.0.0/0", "source network acl, inbound replies"}},
		{"no acl inside one subnet", func(s *inventory.Snapshot) {
			addECSMLflowEgress(s)
			denyAll(acl(s, "acl-0private"))
		}, q(ecs1, ecs2, 5000, 6),
			want{"allow", "security-group", "sg-0ecs (tradai-ecs-sg) ingress tcp 5000 from sg-0ecs (tradai-ecs-sg)", ""}},
		// -1 protocols.
		{"-1 protocol in a security group and an acl: udp to the endpoint", func(s *inventory.Snapshot) {
			sg(s, "sg-0vpce").Ingress = append(sg(s, "sg-0vpce").Ingress, inventory.SGRule{Protocol: "-1", FromPort: -1, ToPort: -1, Group: "sg-0ecs"})
			sg(s, "sg-0ecs").Egress = append(sg(s, "sg-0ecs").Egress, inventory.SGRule{Protocol: "17", FromPort: 0, ToPort: 65535, CIDR: "10.0.11.200/32"})
			allowAll(acl(s, "acl-0private"))
		}, q(ecs4, vpce, 9999, 17),
			want{"allow", "security-group", "sg-0vpce (tradai-vpce-sg) ingress all from sg-0ecs (tradai-ecs-sg)", ""}},
		{"-1 protocol acl entry lets icmp through; a tcp-only group does not", func(s *inventory.Snapshot) {
			allowAll(acl(s, "acl-0private"))
		}, q(ecs1, ecs4, 0, 1),
			want{"deny", "security-group", "sg-0ecs (tradai-ecs-sg) egress: no rule allows icmp to 10.0.12.51", "source security groups"}},
		// Prefix lists.
		{"prefix list in a security group", func(s *inventory.Snapshot) {
			s.PrefixLists = append(s.PrefixLists, inventory.PrefixList{ID: "pl-0partners", Name: "partners", CIDRs: []string{"198.51.100.0/24"}})
			sg(s, "sg-0alb").Ingress = append(sg(s, "sg-0alb").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 1024, ToPort: 65535, PrefixList: "pl-0partners"})
		}, q("198.51.100.23", alb1, 8443, 6),
			want{"allow", "security-group", "sg-0alb (tradai-alb-sg) ingress tcp 1024-65535 from pl-0partners (partners)", ""}},
		{"prefix list: an address outside it", func(s *inventory.Snapshot) {
			s.PrefixLists = append(s.PrefixLists, inventory.PrefixList{ID: "pl-0partners", Name: "partners", CIDRs: []string{"198.51.100.0/24"}})
			sg(s, "sg-0alb").Ingress = append(sg(s, "sg-0alb").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 1024, ToPort: 65535, PrefixList: "pl-0partners"})
		}, q("203.0.113.5", alb1, 8443, 6),
			want{"deny", "security-group", "sg-0alb (tradai-alb-sg) ingress: no rule allows tcp/8443 from 203.0.113.5", "destination security groups"}},
		{"prefix-list route wins over the default route", nil, q(ecs1, "52.216.8.13", 443, 6),
			want{"allow", "security-group", "sg-0ecs (tradai-ecs-sg) egress tcp 443 to 0.0.0.0/0", ""}},
		// Routes.
		{"route: the database tier has no way out", func(s *inventory.Snapshot) {
			sg(s, "sg-0rds").Egress = []inventory.SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}
			allowAll(acl(s, "acl-0database"))
		}, q(rds1, "198.51.100.200", 443, 6),
			want{"deny", "route", "rtb-0database (tradai-db-rt): no route for tcp/443 to 198.51.100.200", "source route table"}},
		{"route: blackhole", func(s *inventory.Snapshot) {
			s.RouteTables[1].Routes[1].State = "blackhole"
		}, q(ecs1, "203.0.113.77", 443, 6),
			want{"deny", "route", "rtb-0private (tradai-private-rt) 0.0.0.0/0 -> eni-0a1b2c3d4e5f600aa (blackhole)", "source route table"}},
		{"route: a private address cannot use the internet gateway", func(s *inventory.Snapshot) {
			s.Interfaces[0].PublicIPs = nil
			sg(s, "sg-0alb").Egress = append(sg(s, "sg-0alb").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0"})
		}, q(alb1, "203.0.113.77", 443, 6),
			want{"deny", "route", "rtb-0public (tradai-public-rt) 0.0.0.0/0 -> igw-0flowq: 10.0.1.25 has no public address", "source route table"}},
		{"route: replies to an internet client from a private subnet", func(s *inventory.Snapshot) {
			sg(s, "sg-0ecs").Ingress = append(sg(s, "sg-0ecs").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 8000, ToPort: 8000, CIDR: "0.0.0.0/0"})
			allowAll(acl(s, "acl-0private"))
		}, q("203.0.113.5", ecs1, 8000, 6),
			want{"allow", "security-group", "sg-0ecs (tradai-ecs-sg) ingress tcp 8000 from 0.0.0.0/0", ""}},
		{"internet to the alb on 443", nil, q("203.0.113.5", alb1, 443, 6),
			want{"allow", "security-group", "sg-0alb (tradai-alb-sg) ingress tcp 443 from 0.0.0.0/0", ""}},
		{"internet scanner to the alb on 22: the acl drops it first", nil, q("198.18.4.9", alb1, 22, 6),
			want{"deny", "network-acl", "acl-0public (tradai-public-nacl) ingress rule * deny all from 0.0.0.0/0", "destination network acl, inbound"}},
		// Through a NAT: the NAT's subnet's network ACL (in from the host,
		// out to the internet, and the replies both ways) and a NAT
		// instance's security group stand on the path too.
		{"nat instance: a task reaches the internet", nil, q(ecs4, "203.0.113.77", 443, 6),
			want{"allow", "security-group", "sg-0ecs (tradai-ecs-sg) egress tcp 443 to 0.0.0.0/0", ""}},
		{"nat instance: its group does not admit the task's subnet", func(s *inventory.Snapshot) {
			g := sg(s, "sg-0nat")
			g.Ingress = slices.DeleteFunc(g.Ingress, func(r inventory.SGRule) bool { return r.CIDR == "10.0.12.0/24" && r.FromPort == 443 })
		}, q(ecs4, "203.0.113.77", 443, 6),
			want{"deny", "security-group", "sg-0nat (tradai-nat-sg) ingress: no rule allows tcp/443 from 10.0.12.51", "nat security groups, ingress"}},
		{"nat instance: the public acl drops the internet's replies to the nat", func(s *inventory.Snapshot) {
			a := acl(s, "acl-0public")
			a.Entries = slices.DeleteFunc(a.Entries, func(e inventory.ACLEntry) bool { return !e.Egress && e.Number == 120 })
		}, q(ecs1, "203.0.113.77", 443, 6),
			want{"deny", "network-acl", "acl-0public (tradai-public-nacl) ingress rule * deny all from 0.0.0.0/0", "nat network acl, inbound replies"}},
		{"nat instance: the public acl does not let the task's request in", func(s *inventory.Snapshot) {
			a := acl(s, "acl-0public")
			a.Entries = slices.DeleteFunc(a.Entries, func(e inventory.ACLEntry) bool { return !e.Egress && e.Number == 125 })
		}, q(ecs1, "1.1.1.1", 53, 17),
			want{"deny", "network-acl", "acl-0public (tradai-public-nacl) ingress rule * deny all from 0.0.0.0/0", "nat network acl, inbound"}},
		{"nat gateway: no security group, the public acl still counts", func(s *inventory.Snapshot) {
			s.NATGateways = append(s.NATGateways, inventory.NATGateway{ID: "nat-0gw", SubnetID: "subnet-0pub2", VPCID: s.VPCs[0].ID,
				ENIs: []string{"eni-0natgw"}, PrivateIPs: []string{"10.0.2.10"}, PublicIPs: []string{"192.0.2.99"}})
			s.Interfaces = append(s.Interfaces, inventory.Interface{ID: "eni-0natgw", Type: inventory.TypeNATGateway, SubnetID: "subnet-0pub2",
				VPCID: s.VPCs[0].ID, PrivateIPs: []string{"10.0.2.10"}, PublicIPs: []string{"192.0.2.99"}, RequesterManaged: true})
			s.RouteTables[1].Routes[1].Target = "nat-0gw"
			a := acl(s, "acl-0public")
			a.Entries = slices.DeleteFunc(a.Entries, func(e inventory.ACLEntry) bool { return e.Egress && e.Number == 100 })
		}, q(ecs1, "203.0.113.77", 443, 6),
			want{"deny", "network-acl", "acl-0public (tradai-public-nacl) egress rule * deny all to 0.0.0.0/0", "nat network acl, outbound"}},
		// An interface's public address: the flow leaves the VPC (through
		// the NAT or the internet gateway) and comes back in, translated.
		{"public address: an ecs task calls the alb's public address through the nat", nil, q(ecs1, "192.0.2.25", 443, 6),
			want{"allow", "security-group", "sg-0alb (tradai-alb-sg) ingress tcp 443 from 0.0.0.0/0", ""}},
		{"public address: a host without one cannot reach it through the internet gateway", func(s *inventory.Snapshot) {
			s.Interfaces = append(s.Interfaces, inventory.Interface{ID: "eni-0tools", Type: "interface", SubnetID: "subnet-0pub1", VPCID: s.VPCs[0].ID,
				PrivateIPs: []string{"10.0.1.77"}, SecurityGroups: []string{"sg-0vpce"}, SourceDestCheck: true})
		}, q("10.0.1.77", "192.0.2.25", 443, 6),
			want{"deny", "route", "rtb-0public (tradai-public-rt) 0.0.0.0/0 -> igw-0flowq: 10.0.1.77 has no public address", "source route table"}},
		{"public address: a group reference holds for private addresses only", func(s *inventory.Snapshot) {
			sg(s, "sg-0alb").Ingress = append(sg(s, "sg-0alb").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 9000, ToPort: 9000, Group: "sg-0ecs"})
			sg(s, "sg-0ecs").Egress = append(sg(s, "sg-0ecs").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 9000, ToPort: 9000, CIDR: "0.0.0.0/0"})
			sg(s, "sg-0nat").Ingress = append(sg(s, "sg-0nat").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 9000, ToPort: 9000, CIDR: "10.0.0.0/16"})
			sg(s, "sg-0nat").Egress = append(sg(s, "sg-0nat").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 9000, ToPort: 9000, CIDR: "0.0.0.0/0"})
			allowAll(acl(s, "acl-0private"))
			allowAll(acl(s, "acl-0public"))
		}, q(ecs1, "192.0.2.25", 9000, 6),
			want{"deny", "security-group", "sg-0alb (tradai-alb-sg) ingress: no rule allows tcp/9000 from 10.0.11.50", "destination security groups"}},
		{"public address: the same reference admits the private address", func(s *inventory.Snapshot) {
			sg(s, "sg-0alb").Ingress = append(sg(s, "sg-0alb").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 9000, ToPort: 9000, Group: "sg-0ecs"})
			sg(s, "sg-0ecs").Egress = append(sg(s, "sg-0ecs").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 9000, ToPort: 9000, CIDR: "0.0.0.0/0"})
			allowAll(acl(s, "acl-0private"))
			allowAll(acl(s, "acl-0public"))
		}, q(ecs1, alb1, 9000, 6),
			want{"allow", "security-group", "sg-0alb (tradai-alb-sg) ingress tcp 9000 from sg-0ecs (tradai-ecs-sg)", ""}},
		// IPv6.
		{"ipv6 client to the alb on 443", nil, q("2001:db8::5", "2600:1f18:1:101::25", 443, 6),
			want{"allow", "security-group", "sg-0alb (tradai-alb-sg) ingress tcp 443 from ::/0", ""}},
		{"ipv6: an IPv4-only acl entry does not match (port 80)", func(s *inventory.Snapshot) {
			sg(s, "sg-0alb").Ingress = append(sg(s, "sg-0alb").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDR: "::/0"})
		}, q("2001:db8::5", "2600:1f18:1:101::25", 80, 6),
			want{"deny", "network-acl", "acl-0public (tradai-public-nacl) ingress rule * deny all from anywhere", "destination network acl, inbound"}},
		{"ipv6: an IPv4-only group rule does not match", func(s *inventory.Snapshot) {
			allowAll(acl(s, "acl-0public"))
		}, q("2001:db8::5", "2600:1f18:1:101::25", 80, 6),
			want{"deny", "security-group", "sg-0alb (tradai-alb-sg) ingress: no rule allows tcp/80 from 2001:db8::5", "destination security groups"}},
		// What the snapshot cannot know.
		{"a group the snapshot lacks is not held against the flow: the acl decides", func(s *inventory.Snapshot) {
			s.Interfaces[3].SecurityGroups = append(s.Interfaces[3].SecurityGroups, "sg-0gone")
		}, q(ecs2, rds1, 22, 6),
			want{"deny", "network-acl", "acl-0private (tradai-private-nacl) egress rule * deny all to 0.0.0.0/0", "source network acl, outbound"}},
		{"a group the snapshot lacks: a known group's rule still allows", func(s *inventory.Snapshot) {
			s.Interfaces[2].SecurityGroups = []string{"sg-0gone", "sg-0ecs"}
		}, q(ecs1, rds1, 5432, 6),
			want{"allow", "security-group", "sg-0rds (tradai-rds-sg) ingress tcp 5432 from sg-0ecs (tradai-ecs-sg)", ""}},
		{"unknown address in a subnet: a group reference cannot match it", nil, q(ecs1, "10.0.21.77", 5432, 6),
			want{"deny", "security-group", "sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/5432 to 10.0.21.77", "source security groups"}},
		{"unknown address in a subnet: its groups skipped, acls still judged", func(s *inventory.Snapshot) {
			sg(s, "sg-0ecs").Egress = append(sg(s, "sg-0ecs").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 5432, ToPort: 5432, CIDR: "10.0.0.0/16"})
		}, q(ecs1, "10.0.21.77", 5432, 6),
			want{"allow", "security-group", "sg-0ecs (tradai-ecs-sg) egress tcp 5432 to 10.0.0.0/16", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := inventory.DemoSnapshot(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
			if tc.mutate != nil {
				tc.mutate(s)
			}
			got, err := policy.Evaluate(inventory.NewIndex(s), tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tc.want.verdict || got.Layer != tc.want.layer || got.Rule != tc.want.rule {
				t.Errorf("got %s %s %q\nwant %s %s %q\nsteps: %+v", got.Verdict, got.Layer, got.Rule, tc.want.verdict, tc.want.layer, tc.want.rule, got.Steps)
			}
			if tc.want.check != "" && got.StepResult(tc.want.layer, tc.want.check) != policy.Deny {
				t.Errorf("the deny is not at %q: %+v", tc.want.check, got.Steps)
			}
		})
	}
}

func addECSMLflowEgress(s *inventory.Snapshot) {
	sg(s, "sg-0ecs").Egress = append(sg(s, "sg-0ecs").Egress, inventory.SGRule{Protocol: "tcp", FromPort: 5000, ToPort: 5000, Group: "sg-0ecs"})
}

func allowAll(a *inventory.NetworkACL) {
	a.Entries = append(a.Entries,
		inventory.ACLEntry{Number: 1, Protocol: "-1", Allow: true, CIDR: "0.0.0.0/0", FromPort: -1, ToPort: -1},
		inventory.ACLEntry{Number: 1, Egress: true, Protocol: "-1", Allow: true, CIDR: "0.0.0.0/0", FromPort: -1, ToPort: -1},
		inventory.ACLEntry{Number: 2, Protocol: "-1", Allow: true, CIDR: "::/0", FromPort: -1, ToPort: -1},
		inventory.ACLEntry{Number: 2, Egress: true, Protocol: "-1", Allow: true, CIDR: "::/0", FromPort: -1, ToPort: -1})
}

func denyAll(a *inventory.NetworkACL) {
	a.Entries = []inventory.ACLEntry{{Number: 1, Protocol: "-1", CIDR: "0.0.0.0/0"}, {Number: 1, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"}}
}

func TestEvaluateErrors(t *testing.T) {
	x := inventory.NewIndex(inventory.DemoSnapshot(time.Unix(0, 0)))
	for _, tc := range []struct {
		name  string
		query policy.Query
		want  string
	}{
		{"both outside", q("203.0.113.5", "198.51.100.9", 443, 6), "neither 203.0.113.5 nor 198.51.100.9 is in a subnet"},
		{"mixed families", q("2001:db8::5", alb1, 443, 6), "different address families"},
		{"port out of range", q(ecs1, rds1, 70000, 6), "destination port 70000"},
		{"no source", policy.Query{Dst: netip.MustParseAddr(rds1), Protocol: 6}, "source address missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Evaluate(x, tc.query)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestEvaluateUnknownPeers: a rule naming a group or prefix list the
// snapshot lacks cannot be judged, so it is not held against a flow it may
// admit: a peered VPC's group (the sync read this VPC only) for an address
// of the peer's private range, an unknown prefix list for any address. An
// internet address is no interface of any group: there the rule does not
// match and the group denies.
func TestEvaluateUnknownPeers(t *testing.T) {
	s := inventory.DemoSnapshot(time.Unix(0, 0))
	sg(s, "sg-0rds").Ingress = append(sg(s, "sg-0rds").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Group: "sg-0peer"})
	sg(s, "sg-0alb").Ingress = append(sg(s, "sg-0alb").Ingress, inventory.SGRule{Protocol: "tcp", FromPort: 8443, ToPort: 8443, PrefixList: "pl-0gone"})
	allowAll(acl(s, "acl-0database"))
	s.RouteTables[2].Routes = append(s.RouteTables[2].Routes, inventory.Route{Destination: "0.0.0.0/0", Target: "pcx-0peer", State: "active"})
	x := inventory.NewIndex(s)
	for _, tc := range []struct {
		name          string
		query         policy.Query
		verdict, step string // the destination's security-group step
	}{
		{"a peered vpc's address, its group unknown", q("172.31.5.9", rds1, 5432, 6), "allow", "skip"},
		{"an internet address is in no group", q("203.0.113.5", rds1, 5432, 6), "deny", "deny"},
		{"a port no rule names", q("172.31.5.9", rds1, 5433, 6), "deny", "deny"},
		{"an unknown prefix list", q("203.0.113.5", alb1, 8443, 6), "allow", "skip"},
		{"known rules still allow", q("203.0.113.5", alb1, 443, 6), "allow", "allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.Evaluate(x, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tc.verdict || got.StepResult(policy.LayerSG, "destination security groups") != tc.step {
				t.Errorf("got %s %s %q, want %s with the group's step %s; steps %+v", got.Verdict, got.Layer, got.Rule, tc.verdict, tc.step, got.Steps)
			}
		})
	}
}
