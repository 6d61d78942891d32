package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/awscost"
)

// The CDK app's inventory function (infra's InventoryMemoryMB). EC2 Describe*
// and SSM GetParametersByPath are counted and priced at 0 (awscost.Price).
const lambdaMemoryGB = 0.256

// The billed duration of a run, modelled from its requests (moto's latency
// is not AWS's): a cold start (an instance is rarely kept 15 minutes), 25 ms
// per S3, SSM or SNS request (one after another), 100 ms per round of EC2
// Describe calls (ec2sync reads 8 kinds at a time).
const (
	coldStart   = 150 * time.Millisecond
	requestWait = 25 * time.Millisecond
	ec2Wait     = 100 * time.Millisecond
	ec2Parallel = 8
)

// Syncs a day at the CDK app's default schedules (-c inventoryMinutes): with
// the collector (the default destination) as often as it runs, hourly; with
// a real-time destination every 15 minutes.
const (
	syncsPerDayCollector = 24
	syncsPerDayRealTime  = 24 * 60 / 15
)

// runCost is one invocation's requests and their list price.
type runCost struct {
	ops map[string]int
}

func (r runCost) billed() time.Duration {
	d, ec2n := coldStart, 0
	for op, n := range r.ops {
		if strings.HasPrefix(op, "EC2 ") {
			ec2n += n
		} else {
			d += time.Duration(n) * requestWait
		}
	}
	return d + time.Duration((ec2n+ec2Parallel-1)/ec2Parallel)*ec2Wait
}

// dollars returns the run's cost by item: lambda, s3, sns, and ec2 and ssm
// (counted, free).
func (r runCost) dollars() map[string]float64 {
	out := map[string]float64{"lambda": awscost.LambdaRequest + r.billed().Seconds()*lambdaMemoryGB*awscost.LambdaGBs}
	for op, n := range r.ops {
		p := awscost.Price(op)
		svc, _, _ := strings.Cut(op, " ")
		out[strings.ToLower(svc)] += float64(n) * p
	}
	return out
}

func (r runCost) total() float64 {
	t := 0.0
	for _, v := range r.dollars() {
		t += v
	}
	return t
}

func (r runCost) String() string {
	var b strings.Builder
	for _, op := range slices.Sorted(maps.Keys(r.ops)) {
		fmt.Fprintf(&b, "  %-34s %3d\n", op, r.ops[op])
	}
	d := r.dollars()
	fmt.Fprintf(&b, "  billed %v; $ lambda %.7f, s3 %.7f, sns %.7f, ec2 and ssm 0: $%.7f per run", r.billed(), d["lambda"], d["s3"], d["sns"], r.total())
	return b.String()
}

// The flow-log volumes the README prices the pipeline at: the demo's day
// and the high-cardinality day of cmd/ingest-lambda's TestCollectorCostPerGB
// (MB of flow-log text an hour, as it measures them).
const (
	demoMBPerHour = 3.07
	highMBPerHour = 4.18
)

// TestInventoryCost counts every AWS request of the scheduled inventory
// sync with declared rules and an alert topic, as the CDK app deploys it,
// each run a new instance: a steady run (nothing changed) reads the
// catalog, the network and the declaration and writes nothing; a run after
// a change also reads the previous snapshot (drift) and writes the
// snapshot and the catalog. The old code listed the archive twice and
// wrote a snapshot on every run. The cost per day at the default schedule
// is priced per GB at the demo's volume and the high-cardinality day's.
func TestInventoryCost(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs through moto_server")
	}
	ctx := context.Background()
	awsCfg := startMoto(t)
	c, n := buildNetwork(t, awsCfg, true)
	newLakeBucket(t, awsCfg)
	topic, err := sns.NewFromConfig(awsCfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{Lake: "s3://" + lakeBucket + "/flows", VPCID: n.VPC, Declared: invtest.DeclaredPath, TopicARN: *topic.TopicArn}
	cnt := awscost.NewCounter()
	counted := awsCfg.Copy()
	counted.APIOptions = append(counted.APIOptions, cnt.Middleware)
	run := func() (Result, runCost) {
		t.Helper()
		h, err := newHandlerWith(ctx, cfg, counted, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		h.drift.metrics = io.Discard
		clear(cnt.N)
		out, err := lambda.NewHandler(h).Invoke(ctx, []byte(scheduledEvent))
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("result %s: %v", out, err)
		}
		return res, runCost{ops: maps.Clone(cnt.N)}
	}

	if res, _ := run(); !res.Stored { // the deployment's first run
		t.Fatalf("first run: %+v", res)
	}
	res, steady := run()
	t.Logf("steady sync (network unchanged):\n%s", steady)
	if res.Stored {
		t.Errorf("steady sync stored %s", res.Snapshot)
	}
	s3ops := map[string]int{}
	for op, k := range steady.ops {
		if strings.HasPrefix(op, "S3 ") {
			s3ops[op] = k
		}
	}
	if want := map[string]int{"S3 GetObject": 1}; !maps.Equal(s3ops, want) {
		t.Errorf("steady sync's S3 requests %v, want %v (the catalog alone)", s3ops, want)
	}
	if steady.ops["SSM GetParametersByPath"] == 0 || steady.ops["EC2 DescribeNetworkInterfaces"] == 0 {
		t.Errorf("the sync's reads not counted: %v", steady.ops)
	}

	if _, err := invtest.ENI(ctx, c, n.Private[0], "10.0.11.60", "new-task", n.ECS); err != nil {
		t.Fatal(err)
	}
	res, changed := run()
	t.Logf("sync after a change (a new interface):\n%s", changed)
	if !res.Stored {
		t.Errorf("a changed network stored nothing: %+v", res)
	}
	if got := changed.ops["S3 PutObject"]; got != 2 {
		t.Errorf("changed: %d S3 PUTs, want 2 (the snapshot, the catalog)", got)
	}

	t.Logf("a change costs $%.7f more, once", changed.total()-steady.total())
	// Budgets: the measured figures with a margin, so a change that adds
	// requests to every sync fails.
	for _, sc := range []struct {
		name   string
		perDay int
		budget float64
	}{
		{"hourly (with the collector)", syncsPerDayCollector, 0.00006},
		{"every 15 minutes (real-time destinations)", syncsPerDayRealTime, 0.00024},
	} {
		perDay := float64(sc.perDay) * steady.total()
		t.Logf("inventory sync %s, network unchanged: $%.6f a day; per GB of flow logs $%.5f at the demo's %.2f MB an hour, $%.5f at the high-cardinality day's %.2f MB",
			sc.name, perDay, perDay/(demoMBPerHour*24/1e3), demoMBPerHour, perDay/(highMBPerHour*24/1e3), highMBPerHour)
		if perDay > sc.budget {
			t.Errorf("%s: $%.6f a day, over the $%.5f budget", sc.name, perDay, sc.budget)
		}
	}
}
