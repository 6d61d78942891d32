package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/collect/collecttest"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// newWorker creates in moto's EC2 a new worker's interface, 10.0.11.90
// named tradai-new-worker, in a VPC and subnet of the reference network's
// ranges (none of the lake's snapshots know it), and returns its ID.
func (f *fixture) newWorker(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
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
	return eni
}

// TestInventoryLookupInAlerts: the deployed function meets an interface
// its lake's snapshot lacks (created after the last sync) and names it from
// the EC2 API (moto here); with the EC2 API unreachable (its own endpoint,
// AWS_ENDPOINT_URL_EC2, where nothing listens), the same transfer is still
// alerted, by address and subnet (before f45a7e5 the lookup ignored
// AWS_ENDPOINT_URL_EC2 and named it from moto). The lookups and their
// failures are counted in the response and the EMF metrics.
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
			f.saveDemoSnapshot(t)
			eni := f.newWorker(t) // in EC2 only
			at := testStart.Add(20 * time.Minute).Unix()
			text := fmt.Sprintf("5 123456789012 %s 10.0.11.90 203.0.113.77 40000 443 6 1000 1400000 %d %d ACCEPT OK vpc-0flowq0seed0001 subnet-0priv1 - 3 IPv4 10.0.11.90 203.0.113.77 us-east-1 use1-az1 egress - - -\n",
				eni, at, at+50)
			var sum summary
			for _, p := range packFlows(t, []byte(text), 10) {
				s, err := f.invoke(t, p)
				if err != nil {
					t.Fatal(err)
				}
				sum.Lookups += s.Lookups
				sum.LookupFailures += s.LookupFailures
			}
			// Counted, in the response and the metrics: by the interface
			// (found, or failed), and, when that failed, by the address.
			want := summary{Lookups: 1}
			if !tc.reachable {
				want = summary{Lookups: 2, LookupFailures: 2}
			}
			if sum.Lookups != want.Lookups || sum.LookupFailures != want.LookupFailures {
				t.Errorf("%d lookups, %d failed; want %d, %d", sum.Lookups, sum.LookupFailures, want.Lookups, want.LookupFailures)
			}
			if m := f.metrics.String(); !strings.Contains(m, fmt.Sprintf(`"InventoryLookups":%d,"InventoryLookupFailures":%d`, want.Lookups, want.LookupFailures)) {
				t.Errorf("EMF lacks the lookups: %s", m)
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

// TestOneLookupForBothPaths: a function that both takes CloudWatch Logs
// deliveries and collects S3's (the collector) asks EC2 about an interface
// its snapshot lacks once, whichever path meets it first: both paths name
// resources through one resolver, with one cache of answers and one copy of
// the lake's snapshots. Before, each built its own, so the same new
// interface cost an EC2 call on each path (and the snapshots were held
// twice).
func TestOneLookupForBothPaths(t *testing.T) {
	f := newFixture(t, map[string]string{envLogFormat: synth.DetectFormat.String()})
	ctx := t.Context()
	const delivery = "flowq-delivery"
	if _, err := f.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(delivery)}); err != nil {
		t.Fatal(err)
	}
	f.saveDemoSnapshot(t)
	eni := f.newWorker(t)
	// Every request of the function goes through a proxy to moto that
	// counts the EC2 lookups.
	var lookups atomic.Int32
	target, err := url.Parse(f.moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("Action=DescribeNetworkInterfaces")) {
			lookups.Add(1)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(motoserver.Region), awsconfig.WithBaseEndpoint(proxy.URL),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	env := maps.Clone(f.env)
	env[envDelivery] = "s3://" + delivery + "/" + collecttest.RegionDir("")
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	clock := testStart.Add(time.Hour + 16*time.Minute) // the hour of the records has settled
	cfg.now = func() time.Time { return clock }
	h, err := newHandler(ctx, cfg, awsCfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	line := func(dst string, at time.Time) string {
		s := at.Unix()
		return fmt.Sprintf("5 123456789012 %s 10.0.11.90 %s 40000 443 6 1000 1400000 %d %d ACCEPT OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv4 10.0.11.90 %s - egress\n",
			eni, dst, s, s+50, dst)
	}
	// CloudWatch Logs' delivery: the new worker's transfer to one host.
	for _, p := range packFlows(t, []byte(line("203.0.113.77", testStart.Add(20*time.Minute))), 10) {
		if s, err := invokeRaw(t, h, p); err != nil || s.Alerts != 1 {
			t.Fatalf("subscription: %+v, %v; want one alert", s, err)
		}
	}
	// S3's delivery, collected: its transfer to another.
	objs, err := collecttest.Deliver([]byte(line("203.0.113.78", testStart.Add(25*time.Minute))), synth.DetectFormat, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := collecttest.Upload(ctx, f.s3, delivery, objs); err != nil {
		t.Fatal(err)
	}
	if s, err := invokeRaw(t, h, scheduledEvent); err != nil || s.Alerts != 1 {
		t.Fatalf("collector: %+v, %v; want one alert", s, err)
	}
	got := f.alertMessages(t)
	for _, a := range got {
		if a.SrcResource == nil || a.SrcResource.Name != "tradai-new-worker" {
			t.Errorf("alert %s: src_resource %+v, want the new worker", a.Title, a.SrcResource)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d alerts delivered, want 2", len(got))
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d EC2 lookups of one new interface, want 1", n)
	}
}
