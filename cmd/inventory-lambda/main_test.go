package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// scheduledEvent is AWS's documented EventBridge "Scheduled Event".
const scheduledEvent = `{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2026-11-30T17:15:00Z",
  "region": "us-east-1",
  "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
  "detail": {}
}`

const lakeBucket = "inventory-lake"

// TestScheduledSync builds the reference network in moto with two named
// interfaces and a second VPC, invokes the handler twice with the scheduled
// event and reads the snapshots back from the S3 lake with inventory.Archive.
func TestScheduledSync(t *testing.T) {
	ctx := context.Background()
	awsCfg := startMoto(t)
	c, n := buildNetwork(t, awsCfg, false)
	eni, err := invtest.ENI(ctx, c, n.Private[0], "10.0.11.50", "trading-api", n.ECS)
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("172.16.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	otherSub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: other.Vpc.VpcId, CidrBlock: aws.String("172.16.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invtest.ENI(ctx, c, *otherSub.Subnet.SubnetId, "172.16.1.9", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	s3c := newLakeBucket(t, awsCfg)

	env := map[string]string{envLake: "s3://" + lakeBucket + "/flows", envVPCID: n.VPC}
	h, err := newHandler(ctx, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	invoke := func() Result {
		t.Helper()
		out, err := lambda.NewHandler(h).Invoke(ctx, []byte(scheduledEvent))
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("result %s: %v", out, err)
		}
		return res
	}
	first := invoke()
	if !strings.HasPrefix(first.Snapshot, "inventory/") || first.Interfaces < 1 {
		t.Errorf("first result %+v", first)
	}

	lake, err := store.Open(ctx, env[envLake], store.Options{S3: s3c})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := inventory.OpenArchive(ctx, lake, 2)
	if err != nil {
		t.Fatal(err)
	}
	x, err := arch.AsOf(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if x.Snap.VPCID != n.VPC || len(x.Snap.VPCs) != 1 {
		t.Errorf("snapshot vpc %q, %d VPCs: want %s alone", x.Snap.VPCID, len(x.Snap.VPCs), n.VPC)
	}
	if got := x.Interface(eni); got == nil || got.SubnetID != n.Private[0] {
		t.Errorf("interface %s: %+v, want it in subnet %s", eni, got, n.Private[0])
	}
	for _, i := range x.Snap.Interfaces {
		if i.VPCID != n.VPC {
			t.Errorf("interface %s of VPC %s: the other VPC must be left out", i.ID, i.VPCID)
		}
	}
	// The object sits where the ingest Lambda reads it (and where the
	// deployed role may write): <prefix>/_flowq/meta/inventory/.
	key := "flows/_flowq/meta/" + first.Snapshot
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(lakeBucket), Key: aws.String(key)}); err != nil {
		t.Errorf("snapshot object %s: %v", key, err)
	}

	// The next run finds the network unchanged: it stores nothing, and the
	// first snapshot stays in force.
	time.Sleep(2 * time.Millisecond)
	second := invoke()
	if second.Stored || second.Snapshot != first.Snapshot || !first.Stored {
		t.Fatalf("unchanged network: first %+v, second %+v: want the second to store nothing and name the first", first, second)
	}
	if err := arch.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(arch.Times()); got != 1 {
		t.Errorf("%d snapshots after an unchanged run, want 1", got)
	}

	// A new interface: the next run adds a snapshot; the first stays (flows
	// are judged against the configuration of their own time).
	if _, err := invtest.ENI(ctx, c, n.Private[0], "10.0.11.51", "trading-worker", n.ECS); err != nil {
		t.Fatal(err)
	}
	third := invoke()
	if !third.Stored || third.Snapshot == first.Snapshot {
		t.Fatalf("after a change: %+v, want a new snapshot", third)
	}
	if err := arch.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(arch.Times()); got != 2 {
		t.Errorf("%d snapshots after a change, want 2", got)
	}
}

// TestSyncFailureFailsInvocation: a failure (here the lake's bucket does not
// exist, so the snapshot cannot be stored) is returned, so the invocation
// fails and Lambda counts an error; so is a payload that is not an event.
func TestSyncFailureFailsInvocation(t *testing.T) {
	ctx := context.Background()
	startMoto(t)
	env := map[string]string{envLake: "s3://no-such-bucket/flows"}
	h, err := newHandler(ctx, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, err = lambda.NewHandler(h).Invoke(ctx, []byte(scheduledEvent))
	if err == nil || !strings.Contains(err.Error(), "inventory sync") {
		t.Errorf("err = %v, want the failed save reported", err)
	}
	if _, err := lambda.NewHandler(h).Invoke(ctx, []byte(`[1,2]`)); err == nil || !strings.Contains(err.Error(), "scheduled event") {
		t.Errorf("not an event: err = %v", err)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; nil: valid
	}{
		{"valid", map[string]string{envLake: "s3://b/flows", envVPCID: "vpc-0abc"}, nil},
		{"every VPC", map[string]string{envLake: "s3://b/flows"}, nil},
		{"missing lake", map[string]string{}, []string{envLake, "required"}},
		{"local lake", map[string]string{envLake: "/tmp/lake"}, []string{envLake, "s3://"}},
		{"bad vpc and lake at once", map[string]string{envVPCID: "subnet-1"}, []string{envLake, envVPCID, "vpc-"}},
		{"drift", map[string]string{envLake: "s3://b/flows", envDeclared: "/flowq/tradai/declared", envTopic: "arn:aws:sns:us-east-1:1:t"}, nil},
		{"bad declared path and topic", map[string]string{envLake: "s3://b/flows", envDeclared: "flowq/tradai", envTopic: "alerts"},
			[]string{envDeclared, "SSM path", envTopic, "topic ARN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.want == nil {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("bad configuration fails init", func(t *testing.T) {
		_, err := newHandler(context.Background(), func(string) string { return "" }, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), envLake) {
			t.Errorf("err = %v", err)
		}
	})
}

// startMoto starts moto_server, points the SDK's environment at it and
// returns a configuration for its clients.
func startMoto(t *testing.T) aws.Config {
	t.Helper()
	moto := motoserver.Start(t)
	for _, kv := range moto.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return moto.Config(t)
}

// buildNetwork builds the reference network in moto (invtest.Build) and,
// with declared, publishes its declared rules as the CDK app does.
func buildNetwork(t *testing.T, cfg aws.Config, declared bool) (*ec2.Client, *invtest.Network) {
	t.Helper()
	c := ec2.NewFromConfig(cfg)
	n, err := invtest.Build(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if declared {
		if err := invtest.PublishDeclared(t.Context(), ssm.NewFromConfig(cfg), n); err != nil {
			t.Fatal(err)
		}
	}
	return c, n
}

// newLakeBucket creates the lake's bucket and returns a path-style client.
func newLakeBucket(t *testing.T, cfg aws.Config) *s3.Client {
	t.Helper()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(lakeBucket)}); err != nil {
		t.Fatal(err)
	}
	return s3c
}
