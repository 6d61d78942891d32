package declared_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/flowq/flowq/internal/inventory/declared"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestReadMoto: Read pages through every parameter under the path (SSM
// returns at most 10 a page), Discover finds each deployment that
// publishes, and an empty path is ErrNone.
func TestReadMoto(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	c := ssm.NewFromConfig(srv.Config(t))
	put := func(name, value string) {
		t.Helper()
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		put(fmt.Sprintf("/flowq/tradai/declared/security-groups/G%02d", i), fmt.Sprintf(
			`{"version":1,"kind":"security-group","name":"G%02d","id":"sg-%02d","ingress":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"cidrIp":"0.0.0.0/0"}],"egress":[]}`, i, i))
	}
	put("/flowq/menotime-dev/declared/network-acls/DatabaseNetworkAcl", `{"version":1,"kind":"network-acl","name":"DatabaseNetworkAcl","id":"acl-1","entries":[]}`)
	put("/flowq/tradai/other", "not a declaration")

	d, err := declared.Read(ctx, c, "/flowq/tradai/declared", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.SecurityGroups) != 25 || d.Source != "ssm:/flowq/tradai/declared" {
		t.Errorf("read %d groups from %s, want 25 from ssm:/flowq/tradai/declared", len(d.SecurityGroups), d.Source)
	}
	paths, err := declared.Discover(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(paths) != "[/flowq/menotime-dev/declared /flowq/tradai/declared]" {
		t.Errorf("discovered %v", paths)
	}
	if _, err := declared.Read(ctx, c, "/flowq/nothing/declared", time.Now()); !errors.Is(err, declared.ErrNone) {
		t.Errorf("empty path: %v, want ErrNone", err)
	}
	if _, err := declared.Read(ctx, c, "flowq/tradai", time.Now()); err == nil {
		t.Error("a path without a leading slash: no error")
	}
}
