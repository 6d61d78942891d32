package ec2sync

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/internal/inventory"
)

// TestInterfaceTypeAsFlowLogs: the EC2 API spells a NAT gateway's
// interface type "natGateway", flow logs' interface-type (and the
// snapshot's inventory.TypeNATGateway) "nat_gateway". The snapshot keeps
// the flow logs' spelling, so the index marks the interface as a NAT by its
// type (before, only through the NAT gateways read beside it) and
// interface_type reads the same in alerts, SQL and records.
func TestInterfaceTypeAsFlowLogs(t *testing.T) {
	ifc := interfaceFrom(types.NetworkInterface{NetworkInterfaceId: aws.String("eni-0nat"), InterfaceType: types.NetworkInterfaceTypeNatGateway,
		PrivateIpAddress: aws.String("10.0.1.20"), RequesterManaged: aws.Bool(true)})
	if ifc.Type != inventory.TypeNATGateway {
		t.Errorf("type %q, want %q", ifc.Type, inventory.TypeNATGateway)
	}
	x := inventory.NewIndex(&inventory.Snapshot{Version: 1, Interfaces: []inventory.Interface{ifc}})
	if !x.IsNAT("eni-0nat") {
		t.Error("a NAT gateway's interface, by its type, is no NAT")
	}
	for _, typ := range []types.NetworkInterfaceType{types.NetworkInterfaceTypeInterface, types.NetworkInterfaceTypeLambda, types.NetworkInterfaceTypeVpcEndpoint} {
		if got := interfaceFrom(types.NetworkInterface{InterfaceType: typ}).Type; got != string(typ) {
			t.Errorf("type %q read as %q", typ, got)
		}
	}
}
