package ec2query_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/ec2query"
	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestLookupMoto: the plain Query API client reads interfaces as the SDK
// reader does (the second implementation is the oracle), by ID and by
// address, and answers nil for an unknown interface.
func TestLookupMoto(t *testing.T) {
	srv, c, n := invtest.Moto(t)
	ctx := context.Background()
	cfg := srv.Config(t)
	eni, err := invtest.ENI(ctx, c, n.Private[0], "10.0.11.50", "trading-api", n.ECS, n.VPCE)
	if err != nil {
		t.Fatal(err)
	}
	q := ec2query.New(cfg)
	for _, tc := range []struct{ eni, addr string }{{eni, ""}, {"", "10.0.11.50"}} {
		got, err := q.Lookup(ctx, tc.eni, tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ec2sync.LookupInterface(ctx, c, tc.eni, tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || got.ID != eni || got.Tags["Name"] != "trading-api" || len(got.SecurityGroups) != 2 {
			t.Errorf("lookup %+v: %+v", tc, got)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("lookup %+v: query client and SDK differ (-query +sdk):\n%s", tc, diff)
		}
	}
	if got, err := q.Lookup(ctx, "eni-0000000000000dead", ""); err != nil || got != nil {
		t.Errorf("unknown interface: %+v, %v", got, err)
	}
	// An unreachable endpoint is an error, not a hang or a panic.
	bad := cfg.Copy()
	bad.BaseEndpoint = aws.String("http://127.0.0.1:1")
	bad.ConfigSources = nil // where the loader's endpoint also lives
	if _, err := ec2query.New(bad).Lookup(ctx, eni, ""); err == nil {
		t.Error("unreachable endpoint: no error")
	}
}

// TestLookupSharedAddressMoto: an address two VPCs' interfaces hold (two
// deployments of a preset, both 10.0.0.0/16) names neither: by address,
// the API answers region-wide, and the first interface it lists may be the
// other deployment's. Both clients answer nil; by ID, each is found.
func TestLookupSharedAddressMoto(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	cfg := srv.Config(t)
	c := ec2.NewFromConfig(cfg)
	var enis []string
	for _, name := range []string{"prod-api", "dev-api"} {
		vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.11.0/24")})
		if err != nil {
			t.Fatal(err)
		}
		eni, err := invtest.ENI(ctx, c, *sub.Subnet.SubnetId, "10.0.11.50", name)
		if err != nil {
			t.Fatal(err)
		}
		enis = append(enis, eni)
	}
	q := ec2query.New(cfg)
	got, err := q.Lookup(ctx, "", "10.0.11.50")
	if err != nil || got != nil {
		t.Errorf("query client, shared address: %+v, %v; want nil", got, err)
	}
	got, err = ec2sync.LookupInterface(ctx, c, "", "10.0.11.50")
	if err != nil || got != nil {
		t.Errorf("SDK, shared address: %+v, %v; want nil", got, err)
	}
	for _, eni := range enis {
		if got, err := q.Lookup(ctx, eni, ""); err != nil || got == nil || got.ID != eni {
			t.Errorf("by ID %s: %+v, %v", eni, got, err)
		}
	}
}

// TestLookupServiceEndpoint: AWS_ENDPOINT_URL_EC2, the SDK's endpoint for
// EC2 alone, wins over AWS_ENDPOINT_URL as it does for the SDK's clients
// (the Lambda's other clients go elsewhere, EC2 to an endpoint of its own).
// Before, the plain client read only the general one and asked the wrong
// server.
func TestLookupServiceEndpoint(t *testing.T) {
	srv, c, n := invtest.Moto(t)
	ctx := context.Background()
	eni, err := invtest.ENI(ctx, c, n.Private[0], "10.0.11.50", "trading-api")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens
	t.Setenv("AWS_ENDPOINT_URL_EC2", srv.Endpoint)
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ec2query.New(cfg).Lookup(ctx, eni, "")
	if err != nil || got == nil || got.ID != eni {
		t.Errorf("lookup with AWS_ENDPOINT_URL_EC2: %+v, %v", got, err)
	}
}

// TestLookupNATGatewayType: a NAT gateway's interface as the Query API
// describes it (interfaceType natGateway, requester-managed) reads as
// ec2sync reads it: type nat_gateway, flow logs' spelling.
func TestLookupNATGatewayType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>fc45294c-example</requestId>
  <networkInterfaceSet>
    <item>
      <networkInterfaceId>eni-0a1b2c3d4e5f60099</networkInterfaceId>
      <subnetId>subnet-0pub1</subnetId>
      <vpcId>vpc-0abc</vpcId>
      <availabilityZone>us-east-1a</availabilityZone>
      <description>Interface for NAT Gateway nat-0abc</description>
      <requesterId>amazon-vpc</requesterId>
      <requesterManaged>true</requesterManaged>
      <status>in-use</status>
      <privateIpAddress>10.0.1.20</privateIpAddress>
      <sourceDestCheck>false</sourceDestCheck>
      <interfaceType>natGateway</interfaceType>
      <groupSet/>
      <privateIpAddressesSet><item><privateIpAddress>10.0.1.20</privateIpAddress><primary>true</primary></item></privateIpAddressesSet>
    </item>
  </networkInterfaceSet>
</DescribeNetworkInterfacesResponse>`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}
	got, err := ec2query.New(cfg).Lookup(context.Background(), "eni-0a1b2c3d4e5f60099", "")
	if err != nil || got == nil {
		t.Fatalf("lookup: %+v, %v", got, err)
	}
	if got.Type != inventory.TypeNATGateway || !got.RequesterManaged || got.PrivateIPs[0] != "10.0.1.20" {
		t.Errorf("NAT gateway's interface read as %+v, want type %s", got, inventory.TypeNATGateway)
	}
}
