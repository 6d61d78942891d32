package ec2sync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// olderPrefixLists answers DescribePrefixLists with the gateway endpoints'
// lists only (S3, DynamoDB), as the older API was documented to: AWS
// recommends DescribeManagedPrefixLists instead.
type olderPrefixLists struct{ *ec2.Client }

func (c olderPrefixLists) DescribePrefixLists(ctx context.Context, in *ec2.DescribePrefixListsInput, opts ...func(*ec2.Options)) (*ec2.DescribePrefixListsOutput, error) {
	out, err := c.Client.DescribePrefixLists(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	var keep []types.PrefixList
	for _, pl := range out.PrefixLists {
		if n := *pl.PrefixListName; strings.HasSuffix(n, ".s3") || strings.HasSuffix(n, ".dynamodb") {
			keep = append(keep, pl)
		}
	}
	out.PrefixLists = keep
	return out, nil
}

// TestSyncAWSManagedPrefixLists: an AWS-managed prefix list that
// DescribePrefixLists does not give (CloudFront's origin-facing list, which
// an ALB's group admits behind CloudFront), or gives without CIDRs (moto's
// answer for every list), is in the snapshot with its entries, read from
// the managed list. Before, AWS-managed lists were taken from
// DescribePrefixLists only: the list, or its CIDRs, were missing, and a
// rule naming it could not be judged.
func TestSyncAWSManagedPrefixLists(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(srv.Config(t))
	snap, err := ec2sync.Sync(ctx, olderPrefixLists{c}, ec2sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, pl := range snap.PrefixLists {
		found[pl.Name] = len(pl.CIDRs)
	}
	for _, name := range []string{"com.amazonaws.global.cloudfront.origin-facing", "com.amazonaws.global.groundstation"} {
		if found[name] == 0 {
			t.Errorf("prefix list %s: %d CIDRs in the snapshot, want its entries (lists: %v)", name, found[name], found)
		}
	}
}
