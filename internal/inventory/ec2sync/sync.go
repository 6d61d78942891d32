// Package ec2sync reads a VPC's network configuration through the EC2 API
// into an inventory.Snapshot (Sync), and single interfaces (LookupInterface).
package ec2sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/flowq/flowq/internal/inventory"
)

// EC2 is the part of the EC2 API Sync reads (*ec2.Client satisfies it).
type EC2 interface {
	ec2.DescribeVpcsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.DescribeInstancesAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkAclsAPIClient
	ec2.DescribeRouteTablesAPIClient
	ec2.DescribeNatGatewaysAPIClient
	ec2.DescribeVpcEndpointsAPIClient
	ec2.DescribePrefixListsAPIClient
	ec2.DescribeManagedPrefixListsAPIClient
	ec2.GetManagedPrefixListEntriesAPIClient
}

// Options select what Sync reads.
type Options struct {
	Region string // recorded in the snapshot; the client decides where it calls
	VPCID  string // only this VPC's resources ("" = every VPC of the region)
	// Concurrency bounds the API calls in flight (default 8).
	Concurrency int
	// Now stamps the snapshot (default time.Now).
	Now func() time.Time
	// Logger receives one line per resource kind read (default: discard).
	Logger *slog.Logger
	// Declared, when set, returns what the deployment declares for the
	// network just read (see internal/inventory/declared; nil: nothing); the
	// snapshot stores it for drift reports. It is called once the EC2 reads
	// are done, so it can pick a deployment by the groups the snapshot
	// holds. Its error costs only the declaration: Sync returns the snapshot
	// without it and an error wrapping ErrDeclared.
	Declared func(context.Context, *inventory.Snapshot) (*inventory.Declaration, error)
}

// Validate reports every problem of the options at once.
func (o Options) Validate() error {
	var errs []error
	if o.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d: must be at least 0", o.Concurrency))
	}
	if o.VPCID != "" && !hasPrefix(o.VPCID, "vpc-") {
		errs = append(errs, fmt.Errorf("vpc id %q: want vpc-…", o.VPCID))
	}
	return errors.Join(errs...)
}

func hasPrefix(s, p string) bool { return len(s) > len(p) && s[:len(p)] == p }

// ErrDeclared wraps the error of Options.Declared: the snapshot Sync
// returns with it is complete, without the declared rules.
var ErrDeclared = errors.New("declared rules not read")

// pageSize is the MaxResults of every paginated call (the API's maximum
// for interfaces is 1000).
const pageSize = 1000

// Sync reads the network configuration through api into a snapshot: every
// resource kind is read concurrently (at most opts.Concurrency calls in
// flight), each through its paginator.
func Sync(ctx context.Context, api EC2, opts Options) (inventory.Snapshot, error) {
	if err := opts.Validate(); err != nil {
		return inventory.Snapshot{}, fmt.Errorf("inventory sync: %w", err)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	snap := inventory.Snapshot{Version: inventory.SnapshotVersion, Taken: opts.Now().UTC(), Region: opts.Region, VPCID: opts.VPCID}
	var vpcFilter []types.Filter
	if opts.VPCID != "" {
		vpcFilter = []types.Filter{{Name: aws.String("vpc-id"), Values: []string{opts.VPCID}}}
	}
	parent := ctx // errgroup's ctx ends with Wait
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	kind := func(name string, fn func() (int, error)) {
		g.Go(func() error {
			start := time.Now()
			n, err := fn()
			if err != nil {
				return fmt.Errorf("inventory sync: read %s: %w", name, err)
			}
			log.Debug("inventory read", "kind", name, "count", n, "took", time.Since(start))
			return nil
		})
	}
	kind("vpcs", func() (int, error) {
		in := &ec2.DescribeVpcsInput{}
		if opts.VPCID != "" {
			in.VpcIds = []string{opts.VPCID}
		}
		p := ec2.NewDescribeVpcsPaginator(api, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, v := range out.Vpcs {
				snap.VPCs = append(snap.VPCs, vpcFrom(v))
			}
		}
		return len(snap.VPCs), nil
	})
	kind("subnets", func() (int, error) {
		p := ec2.NewDescribeSubnetsPaginator(api, &ec2.DescribeSubnetsInput{Filters: vpcFilter, MaxResults: aws.Int32(pageSize)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, s := range out.Subnets {
				snap.Subnets = append(snap.Subnets, subnetFrom(s))
			}
		}
		return len(snap.Subnets), nil
	})
	kind("network interfaces", func() (int, error) {
		p := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{Filters: vpcFilter, MaxResults: aws.Int32(pageSize)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, n := range out.NetworkInterfaces {
				snap.Interfaces = append(snap.Interfaces, interfaceFrom(n))
			}
		}
		return len(snap.Interfaces), nil
	})
	noCheck := map[string]bool{} // primary interfaces of instances with source/destination check off
	kind("instances", func() (int, error) {
		p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{Filters: vpcFilter, MaxResults: aws.Int32(pageSize)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					snap.Instances = append(snap.Instances, instanceFrom(in))
					if eni := primaryENI(in); eni != "" && in.SourceDestCheck != nil && !*in.SourceDestCheck {
						noCheck[eni] = true
					}
				}
			}
		}
		return len(snap.Instances), nil
	})
	kind("security groups", func() (int, error) {
		p := ec2.NewDescribeSecurityGroupsPaginator(api, &ec2.DescribeSecurityGroupsInput{Filters: vpcFilter, MaxResults: aws.Int32(pageSize)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, sg := range out.SecurityGroups {
				snap.SecurityGroups = append(snap.SecurityGroups, groupFrom(sg))
			}
		}
		return len(snap.SecurityGroups), nil
	})
	kind("network acls", func() (int, error) {
		p := ec2.NewDescribeNetworkAclsPaginator(api, &ec2.DescribeNetworkAclsInput{Filters: vpcFilter, MaxResults: aws.Int32(pageSize)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, a := range out.NetworkAcls {
				snap.NetworkACLs = append(snap.NetworkACLs, aclFrom(a))
			}
		}
		return len(snap.NetworkACLs), nil
	})
	kind("route tables", func() (int, error) {
		p := ec2.NewDescribeRouteTablesPaginator(api, &ec2.DescribeRouteTablesInput{Filters: vpcFilter, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, rt := range out.RouteTables {
				snap.RouteTables = append(snap.RouteTables, routeTableFrom(rt))
			}
		}
		return len(snap.RouteTables), nil
	})
	kind("nat gateways", func() (int, error) {
		in := &ec2.DescribeNatGatewaysInput{MaxResults: aws.Int32(1000)}
		if opts.VPCID != "" {
			in.Filter = vpcFilter
		}
		p := ec2.NewDescribeNatGatewaysPaginator(api, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, n := range out.NatGateways {
				if n.State == types.NatGatewayStateDeleted {
					continue
				}
				snap.NATGateways = append(snap.NATGateways, natFrom(n))
			}
		}
		return len(snap.NATGateways), nil
	})
	kind("vpc endpoints", func() (int, error) {
		p := ec2.NewDescribeVpcEndpointsPaginator(api, &ec2.DescribeVpcEndpointsInput{Filters: vpcFilter, MaxResults: aws.Int32(1000)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, e := range out.VpcEndpoints {
				snap.VPCEndpoints = append(snap.VPCEndpoints, endpointFrom(e))
			}
		}
		return len(snap.VPCEndpoints), nil
	})
	var awsLists, managed, awsManaged []inventory.PrefixList
	kind("prefix lists", func() (int, error) {
		p := ec2.NewDescribePrefixListsPaginator(api, &ec2.DescribePrefixListsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			for _, pl := range out.PrefixLists {
				awsLists = append(awsLists, inventory.PrefixList{ID: str(pl.PrefixListId), Name: str(pl.PrefixListName), CIDRs: pl.Cidrs})
			}
		}
		return len(awsLists), nil
	})
	kind("managed prefix lists", func() (int, error) {
		var err error
		managed, awsManaged, err = managedPrefixLists(ctx, api)
		return len(managed), err
	})
	if err := g.Wait(); err != nil {
		return inventory.Snapshot{}, err
	}
	// AWS-managed lists DescribePrefixLists gave no CIDRs of (AWS
	// recommends DescribeManagedPrefixLists instead; its older answer need
	// not hold CloudFront's origin-facing list, which ALBs' groups admit,
	// and moto's holds no CIDRs at all) are read as managed lists.
	for _, l := range awsManaged {
		if slices.ContainsFunc(awsLists, func(a inventory.PrefixList) bool { return a.ID == l.ID && len(a.CIDRs) > 0 }) {
			continue
		}
		cidrs, err := listEntries(parent, api, l.ID)
		if err != nil {
			return inventory.Snapshot{}, fmt.Errorf("inventory sync: read managed prefix lists: %w", err)
		}
		l.CIDRs = cidrs
		managed = append(managed, l)
	}
	snap.PrefixLists = mergePrefixLists(awsLists, managed)
	// An instance's source/destination check is its primary interface's
	// (a NAT instance turns it off on the instance); the interface may not
	// say so (moto keeps it on the instance only).
	for i := range snap.Interfaces {
		if noCheck[snap.Interfaces[i].ID] {
			snap.Interfaces[i].SourceDestCheck = false
		}
	}
	sortSnapshot(&snap)
	if opts.Declared != nil {
		d, err := opts.Declared(parent, &snap)
		if err != nil {
			return snap, fmt.Errorf("%w: %w", ErrDeclared, err)
		}
		snap.Declared = d
	}
	return snap, nil
}

// managedPrefixLists reads customer-managed prefix lists and their entries,
// and the AWS-managed ones without entries (DescribePrefixLists gives
// those of most).
func managedPrefixLists(ctx context.Context, api EC2) (customer, aws []inventory.PrefixList, err error) {
	p := ec2.NewDescribeManagedPrefixListsPaginator(api, &ec2.DescribeManagedPrefixListsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, pl := range out.PrefixLists {
			l := inventory.PrefixList{ID: str(pl.PrefixListId), Name: str(pl.PrefixListName)}
			if str(pl.OwnerId) == "AWS" {
				aws = append(aws, l)
				continue
			}
			if l.CIDRs, err = listEntries(ctx, api, l.ID); err != nil {
				return nil, nil, err
			}
			customer = append(customer, l)
		}
	}
	return customer, aws, nil
}

// listEntries reads a managed prefix list's CIDRs.
func listEntries(ctx context.Context, api EC2, id string) ([]string, error) {
	var cidrs []string
	ep := ec2.NewGetManagedPrefixListEntriesPaginator(api, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: &id})
	for ep.HasMorePages() {
		out, err := ep.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("entries of %s: %w", id, err)
		}
		for _, e := range out.Entries {
			cidrs = append(cidrs, str(e.Cidr))
		}
	}
	return cidrs, nil
}

// mergePrefixLists joins the lists of both calls, once each: the one with
// CIDRs when both have it.
func mergePrefixLists(a, b []inventory.PrefixList) []inventory.PrefixList {
	at := map[string]int{}
	var out []inventory.PrefixList
	for _, l := range append(a, b...) {
		i, seen := at[l.ID]
		switch {
		case !seen:
			at[l.ID] = len(out)
			out = append(out, l)
		case len(out[i].CIDRs) == 0:
			out[i] = l
		}
	}
	return out
}

// sort orders every list by ID, so two syncs of the same network encode to
// the same bytes.
func sortSnapshot(s *inventory.Snapshot) {
	slices.SortFunc(s.VPCs, func(a, b inventory.VPC) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.Subnets, func(a, b inventory.Subnet) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.Interfaces, func(a, b inventory.Interface) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.Instances, func(a, b inventory.Instance) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.SecurityGroups, func(a, b inventory.SecurityGroup) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.NetworkACLs, func(a, b inventory.NetworkACL) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.RouteTables, func(a, b inventory.RouteTable) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.NATGateways, func(a, b inventory.NATGateway) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.VPCEndpoints, func(a, b inventory.VPCEndpoint) int { return cmpStr(a.ID, b.ID) })
	slices.SortFunc(s.PrefixLists, func(a, b inventory.PrefixList) int { return cmpStr(a.ID, b.ID) })
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
