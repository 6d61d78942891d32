package invtest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// Moto starts moto_server for the test (motoserver.Start) and builds the
// network in it: the server, an EC2 client of it and what Build created.
func Moto(t testing.TB) (*motoserver.Server, *ec2.Client, *Network) {
	t.Helper()
	srv := motoserver.Start(t)
	c := ec2.NewFromConfig(srv.Config(t))
	n, err := Build(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, n
}
