package ec2sync_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestSyncMoto builds the reference network in moto, adds interfaces, syncs
// and checks what the snapshot says about each resource kind.
func TestSyncMoto(t *testing.T) {
	_, c, n := invtest.Moto(t)
	ctx := context.Background()
	ecs, err := invtest.ENI(ctx, c, n.Private[0], "10.0.11.50", "trading-api", n.ECS)
	if err != nil {
		t.Fatal(err)
	}
	rds, err := invtest.ENI(ctx, c, n.Database[1], "10.0.21.100", "tradai-db", n.RDS)
	if err != nil {
		t.Fatal(err)
	}
	// A second VPC the filter must leave out.
	other, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: new("172.16.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	otherSub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: other.Vpc.VpcId, CidrBlock: new("172.16.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invtest.ENI(ctx, c, *otherSub.Subnet.SubnetId, "172.16.1.9", "elsewhere"); err != nil {
		t.Fatal(err)
	}

	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	snap, err := ec2sync.Sync(ctx, c, ec2sync.Options{Region: motoserver.Region, VPCID: n.VPC, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Taken.Equal(at) || snap.VPCID != n.VPC || len(snap.VPCs) != 1 {
		t.Fatalf("snapshot header: taken %v vpc %q vpcs %d", snap.Taken, snap.VPCID, len(snap.VPCs))
	}
	x := inventory.NewIndex(&snap)
	if got := len(snap.Subnets); got != 6 {
		t.Errorf("subnets: %d, want 6 (other VPC filtered out)", got)
	}
	ifc := x.Interface(ecs)
	if ifc == nil {
		t.Fatalf("interface %s missing", ecs)
	}
	if ifc.SubnetID != n.Private[0] || !slices.Equal(ifc.SecurityGroups, []string{n.ECS}) || ifc.PrivateIPs[0] != "10.0.11.50" || x.Name(ifc) != "trading-api" {
		t.Errorf("ecs interface: %+v name %q", ifc, x.Name(ifc))
	}
	if got := x.InterfaceByAddr(mustAddr("10.0.21.100")); got == nil || got.ID != rds {
		t.Errorf("by address 10.0.21.100: %+v, want %s", got, rds)
	}
	if x.InterfaceByAddr(mustAddr("172.16.1.9")) != nil {
		t.Error("interface of another VPC in a filtered snapshot")
	}
	if sub := x.SubnetFor(mustAddr("10.0.12.7")); sub == nil || sub.ID != n.Private[1] || sub.Name != "tradai-private-b" {
		t.Errorf("subnet for 10.0.12.7: %+v", sub)
	}
	// Security groups: references and the prefix list survive.
	ecsSG := x.SecurityGroup(n.ECS)
	if ecsSG == nil || !slices.ContainsFunc(ecsSG.Ingress, func(r inventory.SGRule) bool {
		return r.Group == n.Lambda && r.FromPort == 8002 && r.Protocol == "tcp"
	}) {
		t.Errorf("ecs group ingress from lambda group missing: %+v", ecsSG)
	}
	if len(ecsSG.Egress) != 2 {
		t.Errorf("ecs group egress: %+v, want 443 anywhere and 5432 to rds (default egress revoked)", ecsSG.Egress)
	}
	alb := x.SecurityGroup(n.ALB)
	if !slices.ContainsFunc(alb.Ingress, func(r inventory.SGRule) bool { return r.PrefixList == n.PrefixList }) {
		t.Errorf("alb prefix-list rule missing: %+v", alb.Ingress)
	}
	if pl := x.PrefixList(n.PrefixList); pl == nil || !slices.Equal(pl.CIDRs, []string{"198.51.100.0/24"}) {
		t.Errorf("prefix list %s: %+v", n.PrefixList, pl)
	}
	// Network ACLs: per tier, with numbered entries in both directions.
	acl := x.NetworkACL(x.Subnet(n.Database[0]))
	if acl == nil || acl.ID != n.DBACL {
		t.Fatalf("acl of the database subnet: %+v, want %s", acl, n.DBACL)
	}
	var in, out int
	for _, e := range acl.Entries {
		if e.Number == 110 && !e.Egress && (e.CIDR != "10.0.12.0/24" || e.FromPort != 5432 || !e.Allow) {
			t.Errorf("db acl inbound 110: %+v", e)
		}
		if e.Egress {
			out++
		} else {
			in++
		}
	}
	if in < 2 || out < 2 {
		t.Errorf("db acl entries: %d in, %d out", in, out)
	}
	// Routes: private subnets go out through the NAT gateway.
	rt := x.RouteTable(x.Subnet(n.Private[1]))
	if rt == nil || rt.ID != n.PrivateRT || !slices.ContainsFunc(rt.Routes, func(r inventory.Route) bool {
		return r.Destination == "0.0.0.0/0" && r.Target == n.NAT
	}) {
		t.Errorf("private route table: %+v", rt)
	}
	if len(snap.NATGateways) != 1 || snap.NATGateways[0].ID != n.NAT || snap.NATGateways[0].SubnetID != n.Public[0] {
		t.Errorf("nat gateways: %+v", snap.NATGateways)
	}
	if n.NATENI != "" && !x.IsNAT(n.NATENI) {
		t.Errorf("nat gateway interface %s not marked NAT", n.NATENI)
	}
	if x.IsNAT(ecs) {
		t.Errorf("instance interface %s marked NAT", ecs)
	}
	if len(snap.VPCEndpoints) != 1 || snap.VPCEndpoints[0].ID != n.Endpoint || !slices.Equal(snap.VPCEndpoints[0].RouteTables, []string{n.PrivateRT}) {
		t.Errorf("vpc endpoints: %+v", snap.VPCEndpoints)
	}

	// Round trip through the encoding: equal snapshot.
	data, err := inventory.Encode(&snap)
	if err != nil {
		t.Fatal(err)
	}
	back, err := inventory.Decode("x", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Interfaces) != len(snap.Interfaces) || back.Interfaces[0].ID != snap.Interfaces[0].ID {
		t.Errorf("round trip changed the interfaces")
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
