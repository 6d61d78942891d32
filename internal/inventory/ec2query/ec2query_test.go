package ec2query_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory/ec2query"
	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestLookupMoto: the plain Query API client reads interfaces as the SDK
// reader does (the second implementation is the oracle), by ID and by
// address, and answers nil for an unknown interface.
func TestLookupMoto(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	cfg := srv.Config(t)
	c := ec2.NewFromConfig(cfg)
	n, err := invtest.Build(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := ec2query.New(bad).Lookup(ctx, eni, ""); err == nil {
		t.Error("unreachable endpoint: no error")
	}
}
