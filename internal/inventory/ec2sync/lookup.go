package ec2sync

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/internal/inventory"
)

// LookupInterface finds one interface through the EC2 API with a single
// DescribeNetworkInterfaces call: by ID, or by private address when eni is
// "". It returns nil, nil when there is none, or when several hold the
// address (VPCs whose ranges overlap: the API answers for the whole region).
func LookupInterface(ctx context.Context, api ec2.DescribeNetworkInterfacesAPIClient, eni, addr string) (*inventory.Interface, error) {
	in := &ec2.DescribeNetworkInterfacesInput{}
	if eni != "" {
		in.Filters = []types.Filter{{Name: aws.String("network-interface-id"), Values: []string{eni}}}
	} else {
		in.Filters = []types.Filter{{Name: aws.String("addresses.private-ip-address"), Values: []string{addr}}}
	}
	out, err := api.DescribeNetworkInterfaces(ctx, in)
	if err != nil {
		return nil, err
	}
	if len(out.NetworkInterfaces) != 1 {
		return nil, nil // none, or an address several VPCs use: no telling which
	}
	ifc := interfaceFrom(out.NetworkInterfaces[0])
	return &ifc, nil
}
