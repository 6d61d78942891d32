package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/store"
)

// TestInventoryLookupInAlerts: the deployed function meets an interface
// its lake's snapshot lacks (created after the last sync) and names it from
// the EC2 API (moto here); with the EC2 API unreachable (its own endpoint,
// AWS_ENDPOINT_URL_EC2, where nothing listens), the same transfer is still
// alerted, by address and subnet (before f45a7e5 the lookup ignored
// AWS_ENDPOINT_URL_EC2 and named it from moto).
func TestInventoryLookupInAlerts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reachable bool
	}{{"ec2 answers", true}, {"ec2 unreachable", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.reachable {
				// EC2's own endpoint, where nothing listens.
				t.Setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:1")
			}
			f := newFixture(t, nil)
			ctx := t.Context()
			lake, err := store.Open(ctx, "s3://"+lakeBucket+"/flows", store.Options{S3: f.s3})
			if err != nil {
				t.Fatal(err)
			}
			arch, err := inventory.OpenArchive(ctx, lake, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := arch.Save(ctx, inventory.DemoSnapshot(testStart.Add(-24*time.Hour))); err != nil {
				t.Fatal(err)
			}
			// The new worker's interface, in EC2 only.
			c := ec2.NewFromConfig(f.moto.Config(t))
			vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
			if err != nil {
				t.Fatal(err)
			}
			sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.11.0/24")})
			if err != nil {
				t.Fatal(err)
			}
			eni, err := invtest.ENI(ctx, c, *sub.Subnet.SubnetId, "10.0.11.90", "tradai-new-worker")
			if err != nil {
				t.Fatal(err)
			}
			at := testStart.Add(20 * time.Minute).Unix()
			text := fmt.Sprintf("5 123456789012 %s 10.0.11.90 203.0.113.77 40000 443 6 1000 1400000 %d %d ACCEPT OK vpc-0flowq0seed0001 subnet-0priv1 - 3 IPv4 10.0.11.90 203.0.113.77 us-east-1 use1-az1 egress - - -\n",
				eni, at, at+50)
			for _, p := range packFlows(t, []byte(text), 10) {
				if _, err := f.invoke(t, p); err != nil {
					t.Fatal(err)
				}
			}
			got := f.alertMessages(t)
			var ex []detect.Alert
			for _, a := range got {
				if a.Detector == detect.Exfiltration {
					ex = append(ex, a)
				}
			}
			if len(ex) != 1 || ex[0].Src != "10.0.11.90" {
				t.Fatalf("exfiltration alerts %v, want one from 10.0.11.90", ex)
			}
			r := ex[0].SrcResource
			if tc.reachable {
				if r == nil || r.ENI != eni || r.Name != "tradai-new-worker" || !strings.Contains(ex[0].Title, "(tradai-new-worker)") {
					t.Errorf("src_resource %+v, title %q; want the new worker, from EC2", r, ex[0].Title)
				}
			} else if r == nil || r.ENI != "" || r.SubnetName != "tradai-private-a" {
				t.Errorf("src_resource %+v; want the subnet only", r)
			}
		})
	}
}
