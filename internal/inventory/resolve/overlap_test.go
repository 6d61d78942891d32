package resolve_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
)

// twoDeployments is the demo network twice in one region-wide snapshot, as
// `flowq inventory sync` without --vpc-id reads two deployments of a preset
// (prod and dev: both reference networks use 10.0.0.0/16): the dev VPC's
// subnets overlap prod's, and its task and database hold prod's addresses.
func twoDeployments() *inventory.Snapshot {
	s := inventory.DemoSnapshot(time.Unix(0, 0))
	const dev = "vpc-0dev"
	for _, sub := range []inventory.Subnet{
		{ID: "subnet-0devpriv1", Name: "dev-private-a", VPCID: dev, CIDRs: []string{"10.0.11.0/24"}},
		{ID: "subnet-0devpriv2", Name: "dev-private-b", VPCID: dev, CIDRs: []string{"10.0.12.0/24"}},
		{ID: "subnet-0devdb1", Name: "dev-db-a", VPCID: dev, CIDRs: []string{"10.0.21.0/24"}},
	} {
		s.Subnets = append(s.Subnets, sub)
	}
	for _, ifc := range []inventory.Interface{
		{ID: "eni-0dev11", Type: "interface", SubnetID: "subnet-0devpriv1", VPCID: dev, PrivateIPs: []string{"10.0.11.50"}, Tags: map[string]string{"Name": "dev-backend-api"}, SourceDestCheck: true},
		{ID: "eni-0dev21", Type: "interface", SubnetID: "subnet-0devdb1", VPCID: dev, PrivateIPs: []string{"10.0.21.100"}, Tags: map[string]string{"Name": "dev-postgres"}, SourceDestCheck: true},
	} {
		// First, so the index's one-per-address map keeps dev's.
		s.Interfaces = append([]inventory.Interface{ifc}, s.Interfaces...)
	}
	s.VPCs = append(s.VPCs, inventory.VPC{ID: dev, Name: "dev-vpc", CIDRs: []string{"10.0.0.0/16"}})
	return s
}

// TestResolveOverlappingVPCs: an address that two VPCs of the snapshot
// use is named from the VPC of the interface that logged the record, and
// not at all without one: never the other deployment's host. Before, the
// index's first holder of the address named it, whichever VPC the record
// came from (prod's alerts named dev's hosts), and a host no snapshot knows
// got the first overlapping subnet's name.
func TestResolveOverlappingVPCs(t *testing.T) {
	var calls []string
	lookup := func(_ context.Context, eni, addr string) (*inventory.Interface, error) {
		calls = append(calls, eni+"|"+addr)
		if addr == "10.0.12.99" {
			// The API's answer by address, region-wide: dev's interface.
			return &inventory.Interface{ID: "eni-0devnew", Type: "lambda", SubnetID: "subnet-0devpriv2", VPCID: "vpc-0dev", PrivateIPs: []string{"10.0.12.99"}}, nil
		}
		return nil, nil
	}
	r := resolve.New(one{inventory.NewIndex(twoDeployments())}, resolve.Options{Lookup: lookup})
	at := time.Unix(100, 0)
	name := func(eni, addr string) string {
		res := r.Resolve(eni, addr, at)
		if res == nil {
			return "<nil>"
		}
		return res.ENI + " " + res.Name + " " + res.SubnetName
	}
	for _, tc := range []struct{ what, eni, addr, want string }{
		{"prod task on its interface", "eni-0a1b2c3d4e5f60011", "10.0.11.50", "eni-0a1b2c3d4e5f60011 tradai-backend-api tradai-private-a"},
		{"dev task on its interface", "eni-0dev11", "10.0.11.50", "eni-0dev11 dev-backend-api dev-private-a"},
		// The source of a record logged on prod's database: prod's task.
		{"prod task seen by prod's database", "eni-0a1b2c3d4e5f60021", "10.0.11.50", "eni-0a1b2c3d4e5f60011 tradai-backend-api tradai-private-a"},
		{"dev task seen by dev's database", "eni-0dev21", "10.0.11.50", "eni-0dev11 dev-backend-api dev-private-a"},
		// A destination, no interface to tell the VPC: either host.
		{"shared address, no interface", "", "10.0.11.50", "<nil>"},
		{"unknown host in overlapping subnets, no interface", "", "10.0.12.200", "<nil>"},
		{"unknown host seen by prod's database", "eni-0a1b2c3d4e5f60021", "10.0.12.200", "  tradai-private-b"},
		// The API's answer is dev's interface: not prod's host.
		{"new host seen by prod's database", "eni-0a1b2c3d4e5f60021", "10.0.12.99", "  tradai-private-b"},
		{"address of one VPC only", "", "10.0.1.10", "eni-0a1b2c3d4e5f600aa tradai-nat-instance tradai-public-a"},
	} {
		if got := name(tc.eni, tc.addr); got != tc.want {
			t.Errorf("%s: %s on %s named %q, want %q", tc.what, tc.addr, tc.eni, got, tc.want)
		}
	}
	// An address in subnets of two VPCs is asked about only when the
	// interface that logged it tells the VPC (the API's answer, region-wide,
	// is as ambiguous as the snapshot, and one of another VPC is dropped).
	if diff := cmp.Diff(calls, []string{"|10.0.12.200", "|10.0.12.99"}); diff != "" {
		t.Errorf("lookups (-got +want):\n%s", diff)
	}
}
