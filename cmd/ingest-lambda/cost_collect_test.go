package main

import (
	"bytes"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/collect/collecttest"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/awscost"
)

// requestWait is the latency of one AWS request from the function (S3
// first byte, DynamoDB, SNS in the region). The collector makes its
// requests one after another, but for the delivered objects, which it
// reads collect.readers (4) at a time. coldStart is the billed init of a
// run: an hourly function starts cold.
const (
	requestWait = 25 * time.Millisecond
	coldStart   = 150 * time.Millisecond
)

// scheduledEvent is EventBridge's scheduled event, as the rule sends it.
var scheduledEvent = []byte(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"123456789012","time":"2026-11-20T15:16:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/collect"],"detail":{}}`)

// collectRuns delivers text to S3 as AWS does (5-minute gzip files with
// the header line, AWS's names and folders; uploaded with an uncounted
// client) and runs the function's collector every interval from start, as
// the CDK app's schedule does (16 minutes past a slot's end: it has just
// settled), each run a new instance (cold), counting every AWS request the
// function makes. A first run, not counted, collects the slot before start
// and leaves the checkpoint a deployed collector has: the runs counted are
// steady ones.
func collectRuns(t *testing.T, text []byte, start time.Time, interval time.Duration, runs int) *costReport {
	f := newFixture(t, map[string]string{envLogFormat: synth.DetectFormat.String()})
	const delivery = "flowq-delivery"
	if _, err := f.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(delivery)}); err != nil {
		t.Fatal(err)
	}
	objs, err := collecttest.Deliver(text, synth.DetectFormat, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := collecttest.Upload(t.Context(), f.s3, delivery, objs); err != nil {
		t.Fatal(err)
	}
	// As deployed, the inventory Lambda keeps the network's snapshot and
	// its catalog in the lake: each cold run reads the catalog (one GET, no
	// listing) and the snapshot in force.
	lake, err := store.Open(t.Context(), f.env[envLake], store.Options{S3: f.s3})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := inventory.OpenArchive(t.Context(), lake, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arch.Save(t.Context(), inventory.DemoSnapshot(start.Add(-24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	env := maps.Clone(f.env)
	env[envDelivery] = "s3://" + delivery + "/" + collecttest.RegionDir("")
	env[envCollectMinutes] = strconv.Itoa(int(interval / time.Minute))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var clock time.Time
	cfg.now = func() time.Time { return clock }
	cnt := awscost.NewCounter()
	awsCfg := f.moto.Config(t)
	awsCfg.APIOptions = append(awsCfg.APIOptions, cnt.Middleware)
	r := &costReport{}
	for i := range runs + 1 {
		h, err := newHandler(t.Context(), cfg, awsCfg, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		clock = start.Add(time.Duration(i)*interval + 16*time.Minute)
		s, err := invokeRaw(t, h, scheduledEvent)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			clear(cnt.N) // the deployment's first run
			continue
		}
		if s.Delivered == 0 || s.Records == 0 {
			t.Fatalf("run %d collected nothing: %+v", i, s)
		}
		r.invocations++
		r.bytes += s.Bytes
		r.objects += s.Delivered
		r.checkpoint = max(r.checkpoint, s.Checkpoint)
	}
	r.ops = cnt.N
	sequential := -r.objects + (r.objects+3)/4 // the objects' GETs, 4 at a time
	for _, n := range r.ops {
		sequential += n
	}
	if r.bytes == 0 {
		t.Fatal("no run collected anything")
	}
	r.ioWait = time.Duration(sequential)*requestWait + time.Duration(r.invocations)*coldStart
	return r
}

// variablePerGB is the cost that grows with the flow logs' volume: the
// function's compute over the bytes (the requests are per run and per
// 5-minute file, whatever their size).
func variablePerGB() float64 { return 1e9 / handlerBytesPerCPU * 1.769 * awscost.LambdaGBs }

// inventoryPerDay is what the inventory sync costs a day at the CDK app's
// default schedule with the collector (hourly, 256 MB, the network
// unchanged), as cmd/inventory-lambda's TestInventoryCost measures it (its
// budget there: $0.00006). It is a fixed cost per hour, like the
// collector's per run.
const inventoryPerDay = 0.000047

// TestCollectorCostPerGB prices the scheduled collector (the CDK app's
// default) as TestCostPerGB prices the CloudWatch Logs path: every AWS
// request it makes over a whole day (00:00 to 24:00 UTC: the runs of 00:16
// to 02:16 also list the day before, within the lateness horizon) of the
// demo's traffic, its four incidents at 14:00 as in flowq demo, and of a
// high-cardinality day (the same plus 3,000 internet peers an hour), one
// run an hour. The target, $0.01 per GB all-in, is the budget. The
// report splits the cost into a fixed part per run and a variable part per
// GB.
func TestCollectorCostPerGB(t *testing.T) {
	if testing.Short() {
		t.Skip("collects two days through moto_server")
	}
	// The day before yesterday, whole: its last run (00:16 the next day)
	// is still in the past.
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	from := start.Add(-time.Hour)
	// The demo's density (400,000 records a day) from the uncounted run's
	// slot to an hour after the day, whose first minutes' records end in
	// the day's last slot.
	const span = 26 * time.Hour
	demo, _ := synth.Scenario(7, synth.DetectFormat, from, span, 400_000*int(span/time.Hour)/24, start.Add(14*time.Hour))
	_, demo, _ = bytes.Cut(demo, []byte{'\n'})
	high := slices.Clip(demo)
	for h := range int(span / time.Hour) {
		high = append(high, highCardinality(from.Add(time.Duration(h)*time.Hour), 3_000)...)
	}
	// Budgets: the target, $0.01 per GB all-in (the collector and
	// the inventory sync), and for the collector alone the measured figures
	// with a margin, so a change that adds requests fails.
	for _, tc := range []struct {
		name     string
		text     []byte
		interval time.Duration
		runs     int
		budget   float64 // the collector alone
	}{
		{"demo day hourly", demo, time.Hour, 24, 0.0095}, // measured $0.0087; $0.0085 before the marker GET ahead of each put
		{"demo day every 2h", demo, 2 * time.Hour, 12, 0.007},
		{"high-cardinality day hourly", high, time.Hour, 24, 0.007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := collectRuns(t, tc.text, start, tc.interval, tc.runs)
			total := r.total()
			d := r.dollarsPerGB()
			gb := float64(r.bytes) / 1e9
			alerts := (d["dynamodb"] + d["sns"]) * gb // only due alerts touch DynamoDB and SNS
			fixed := ((total-variablePerGB())*gb - alerts) / float64(r.invocations)
			t.Logf("%s, collector every %v: %s  checkpoint %d bytes; fixed $%.7f per run, $%.7f for the alerts, variable $%.5f per GB: $%.5f per GB at %.1f MB per run; $0.01 per GB (alerts aside) from %.1f MB per run",
				tc.name, tc.interval, r, r.checkpoint, fixed, alerts, variablePerGB(), total, gb*1e3/float64(r.invocations), fixed/(0.01-variablePerGB())*1e3)
			// All in: with the inventory sync's fixed cost a day.
			hours := float64(r.invocations) * tc.interval.Hours()
			inv := inventoryPerDay * hours / 24 / gb
			perHour := fixed/tc.interval.Hours() + inventoryPerDay/24
			t.Logf("%s with the inventory sync ($%.6f a day): $%.5f per GB at %.2f MB an hour; $0.01 per GB (alerts aside) from %.1f MB an hour",
				tc.name, inventoryPerDay, total+inv, gb*1e3/hours, perHour/(0.01-variablePerGB())*1e3)
			if r.ops["S3 GetObject"] == 0 || r.ops["S3 PutObject"] == 0 || r.ops["S3 ListObjectsV2"] == 0 {
				t.Errorf("requests not counted: %v", r.ops)
			}
			if math.IsNaN(total) || total > tc.budget {
				t.Errorf("%s: the collector $%.4f per GB, over its $%.3f budget", tc.name, total, tc.budget)
			}
			if total+inv > 0.01 {
				t.Errorf("%s: $%.4f per GB all-in, over the $0.01 target", tc.name, total+inv)
			}
		})
	}
}
