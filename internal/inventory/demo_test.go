package inventory_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/synth"
)

// TestDemoSnapshotMatchesSynth: every host of the demo's synthetic traffic
// resolves, by address, to the interface and subnet its records carry.
func TestDemoSnapshotMatchesSynth(t *testing.T) {
	x := inventory.NewIndex(inventory.DemoSnapshot(time.Unix(0, 0)))
	hosts := append(append(append(append([]synth.Host{}, synth.ALB...), synth.ECS...), synth.RDS...), synth.NAT, synth.VPCE)
	for _, h := range hosts {
		ifc := x.InterfaceByAddr(netip.MustParseAddr(h.IP))
		if ifc == nil || ifc.ID != h.ENI || ifc.SubnetID != h.Subnet {
			t.Errorf("%s: %+v, want %s in %s", h.IP, ifc, h.ENI, h.Subnet)
			continue
		}
		if x.Subnet(ifc.SubnetID) == nil || x.NetworkACL(x.Subnet(ifc.SubnetID)) == nil || x.RouteTable(x.Subnet(ifc.SubnetID)) == nil {
			t.Errorf("%s: subnet %s without acl or route table", h.IP, ifc.SubnetID)
		}
		for _, g := range ifc.SecurityGroups {
			if x.SecurityGroup(g) == nil {
				t.Errorf("%s: group %s missing", h.IP, g)
			}
		}
	}
	if !x.IsNAT(synth.NAT.ENI) {
		t.Errorf("the NAT instance's interface is not marked NAT")
	}
	if got := x.Name(x.Interface(synth.NAT.ENI)); got != "tradai-nat-instance" {
		t.Errorf("NAT name %q, want the instance's", got)
	}
}

func TestSnapshotSummary(t *testing.T) {
	s := inventory.Snapshot{Interfaces: make([]inventory.Interface, 3), Subnets: make([]inventory.Subnet, 2), PrefixLists: make([]inventory.PrefixList, 1)}
	want := "3 interfaces, 2 subnets, 0 security groups, 0 network ACLs, 0 route tables, 0 NAT gateways, 0 VPC endpoints, 1 prefix lists"
	if got := s.Summary(); got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
