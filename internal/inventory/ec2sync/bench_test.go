package ec2sync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/sync/errgroup"

	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// BenchmarkSyncMoto10k syncs a VPC of 10,000 interfaces from moto, with
// the default concurrency and with one call at a time, beside a reference:
// one DescribeVpcs round trip to the same server. Creating the interfaces
// is setup, reported as a metric of its own. The interfaces carry no tags:
// moto looks tags up in a way that grows with the square of the resources
// (10,000 Name-tagged interfaces took 409 s per sync there), which real EC2
// does not.
//
//	go test ./internal/inventory -run '^$' -bench SyncMoto10k -benchtime 3x
func BenchmarkSyncMoto10k(b *testing.B) {
	const n = 10_000
	srv := motoserver.Start(b)
	ctx := context.Background()
	c := ec2.NewFromConfig(srv.Config(b))
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		b.Fatal(err)
	}
	var subnets []string
	for i := range 3 {
		s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.1.%d.0/20", i*16))})
		if err != nil {
			b.Fatal(err)
		}
		subnets = append(subnets, *s.Subnet.SubnetId)
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			_, err := invtest.ENI(gctx, c, subnets[i%3], "", "")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	setup := time.Since(start)
	opts := ec2sync.Options{VPCID: *vpc.Vpc.VpcId}
	for _, tc := range []struct {
		name        string
		concurrency int
	}{{"concurrency=8", 8}, {"concurrency=1", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			o := opts
			o.Concurrency = tc.concurrency
			b.ReportAllocs()
			for b.Loop() {
				s, err := ec2sync.Sync(ctx, c, o)
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Interfaces) != n {
					b.Fatalf("%d interfaces, want %d", len(s.Interfaces), n)
				}
			}
			b.ReportMetric(float64(n), "interfaces")
			b.ReportMetric(setup.Seconds(), "create-s")
		})
	}
	b.Run("reference=DescribeVpcs", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
