package ec2sync_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/inventory/invtest"
)

// TestSyncNATInstanceMoto: a NAT instance set up the usual way — source/
// destination check turned off on the instance (ModifyInstanceAttribute),
// the private route table's default route to the instance — is a NAT in the
// snapshot, so its records stand for the hosts behind it. The instance's
// attribute is its primary interface's; moto keeps it on the instance only
// (and lists the route's target as the instance), so before, the snapshot
// marked nothing and the NAT instance's legs raised alerts of their own.
// A second instance with the check on is no NAT.
func TestSyncNATInstanceMoto(t *testing.T) {
	_, c, n := invtest.Moto(t)
	ctx := context.Background()
	launch := func() (string, string) {
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(n.Public[1]), InstanceType: types.InstanceTypeT3Micro})
		if err != nil {
			t.Fatal(err)
		}
		return *run.Instances[0].InstanceId, *run.Instances[0].NetworkInterfaces[0].NetworkInterfaceId
	}
	natInst, natENI := launch()
	_, webENI := launch()
	if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: &natInst,
		SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: &n.VPC})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), InstanceId: &natInst}); err != nil {
		t.Fatal(err)
	}
	snap, err := ec2sync.Sync(ctx, c, ec2sync.Options{VPCID: n.VPC})
	if err != nil {
		t.Fatal(err)
	}
	x := inventory.NewIndex(&snap)
	if ifc := x.Interface(natENI); ifc == nil || ifc.SourceDestCheck || !x.IsNAT(natENI) {
		t.Errorf("NAT instance's interface %s: %+v, NAT %v; want source/destination check off, a NAT", natENI, ifc, x.IsNAT(natENI))
	}
	if ifc := x.Interface(webENI); ifc == nil || !ifc.SourceDestCheck || x.IsNAT(webENI) {
		t.Errorf("other instance's interface %s: %+v, NAT %v; want no NAT", webENI, ifc, x.IsNAT(webENI))
	}
}
