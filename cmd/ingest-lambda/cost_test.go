package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/synth"
)

// List prices, us-east-1, on-demand (December 2024 onwards).
const (
	priceLambdaRequest = 0.20 / 1e6    // per invocation
	priceLambdaGBs     = 0.0000133334  // per GB-second, arm64
	priceS3Put         = 0.005 / 1000  // PUT, COPY, POST, LIST
	priceS3Get         = 0.0004 / 1000 // GET and the rest
	priceDynamoWrite   = 0.625 / 1e6   // per write request unit (1 KB)
	priceDynamoRead    = 0.125 / 1e6   // per read request unit (4 KB, strongly consistent)
	priceSNSPublish    = 0.50 / 1e6    // per 64 KB chunk published
	lambdaMemoryGB     = 0.512         // the CDK app's function
	handlerBytesPerCPU = 112e6         // handler throughput per core, 1 MiB events (README)
	ioWaitPerInvoke    = 60 * time.Millisecond
)

// opCounter counts every request attempt the SDK clients send, by service
// and operation (retries included: they are billed too).
type opCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *opCounter) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("flowq-count",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.n[awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// costReport is the requests and list-price cost of ingesting one day.
type costReport struct {
	invocations int
	bytes       int64
	ops         map[string]int
	// ioWait is the function's time waiting on AWS over all invocations
	// (0: ioWaitPerInvoke each).
	ioWait time.Duration
	// objects counts the delivered objects a collector read; checkpoint
	// is the largest checkpoint it wrote.
	objects, checkpoint int
}

func (r *costReport) perGB(n int) float64 { return float64(n) * 1e9 / float64(r.bytes) }

// dollarsPerGB returns the all-in cost per GB of flow-log text, by item.
func (r *costReport) dollarsPerGB() map[string]float64 {
	out := map[string]float64{}
	wait := r.ioWait
	if wait == 0 {
		wait = time.Duration(r.invocations) * ioWaitPerInvoke
	}
	gbs := float64(r.bytes)/handlerBytesPerCPU*1.769 + wait.Seconds()*lambdaMemoryGB
	out["lambda"] = (float64(r.invocations)*priceLambdaRequest + gbs*priceLambdaGBs) * 1e9 / float64(r.bytes)
	for op, n := range r.ops {
		var p float64
		switch {
		case strings.HasPrefix(op, "S3 Get"), strings.HasPrefix(op, "S3 Head"):
			p = priceS3Get
		case strings.HasPrefix(op, "S3 "):
			p = priceS3Put
		case op == "DynamoDB GetItem":
			p = priceDynamoRead
		case strings.HasPrefix(op, "DynamoDB "):
			p = priceDynamoWrite // items stay under 1 KB but port-scan ones
		case strings.HasPrefix(op, "SNS "):
			p = priceSNSPublish
		}
		svc, _, _ := strings.Cut(op, " ")
		out[strings.ToLower(svc)] += r.perGB(n) * p
	}
	return out
}

func (r *costReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invocations, %.1f MB of flow-log text (%.0f invocations per GB)\n", r.invocations, float64(r.bytes)/1e6, r.perGB(r.invocations))
	ops := make([]string, 0, len(r.ops))
	for op := range r.ops {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		fmt.Fprintf(&b, "  %-24s %8d  %10.0f per GB\n", op, r.ops[op], r.perGB(r.ops[op]))
	}
	d := r.dollarsPerGB()
	total := 0.0
	for _, svc := range []string{"lambda", "s3", "dynamodb", "sns"} {
		fmt.Fprintf(&b, "  $%-23s %.5f per GB\n", svc, d[svc])
		total += d[svc]
	}
	fmt.Fprintf(&b, "  $%-23s %.5f per GB\n", "all-in", total)
	return b.String()
}

func (r *costReport) total() float64 {
	t := 0.0
	for _, v := range r.dollarsPerGB() {
		t += v
	}
	return t
}

// highCardinality returns an hour's extra records with many internet peers:
// tasks calling n distinct internet hosts (small HTTPS requests: every pair
// is a key of the exfiltration detector) and the load balancer answering n
// distinct clients (replies, which no detector keys).
func highCardinality(day time.Time, n int) []byte {
	var out []byte
	for i := range n {
		at := day.Unix() + int64(i)*3600/int64(n)
		peer := fmt.Sprintf("%d.%d.%d.%d", 100+i%100, (i/100)%250, (i/25000)%250, 1+i%250)
		e := synth.ECS[i%len(synth.ECS)]
		f := synth.Flow{Version: 5, Account: synth.Account, ENI: e.ENI, Src: e.IP, Dst: peer, SrcPort: 40000 + i%20000, DstPort: 443,
			Protocol: 6, Packets: 12, Bytes: 9000, Start: at, End: at + 20, Action: "ACCEPT", Status: "OK", VPC: "vpc-0flowq0seed0001",
			Subnet: e.Subnet, Type: "IPv4", PktSrc: e.IP, PktDst: peer, Direction: "egress"}
		out = append(synth.AppendLine(out, synth.DetectFormat, &f), '\n')
		a := synth.ALB[i%len(synth.ALB)]
		g := synth.Flow{Version: 5, Account: synth.Account, ENI: a.ENI, Src: a.IP, Dst: peer, SrcPort: 443, DstPort: 40000 + i%20000,
			Protocol: 6, Packets: 10, Bytes: 14000, Start: at, End: at + 20, Action: "ACCEPT", Status: "OK", VPC: "vpc-0flowq0seed0001",
			Subnet: a.Subnet, Type: "IPv4", PktSrc: a.IP, PktDst: peer, Direction: "egress"}
		out = append(synth.AppendLine(out, synth.DetectFormat, &g), '\n')
	}
	return out
}

// ingestDay runs a day of records through the function as CloudWatch Logs
// delivers them (one payload per ENI stream per 10-minute aggregation
// interval) on moto_server, counting every AWS request.
func ingestDay(t *testing.T, text []byte) *costReport {
	f := newFixture(t, map[string]string{envLogFormat: synth.DetectFormat.String()})
	cfg, err := loadConfig(func(k string) string { return f.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cnt := &opCounter{n: map[string]int{}}
	awsCfg := f.moto.Config(t)
	awsCfg.APIOptions = append(awsCfg.APIOptions, cnt.middleware)
	h, err := newHandler(t.Context(), cfg, awsCfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	payloads, err := cwlogs.Pack(text, cwlogs.PackOptions{
		Owner: synth.Account, LogGroup: logGroup, Filter: "flowq-ingest", Window: (10 * time.Minute).Milliseconds(),
		Stream: func(l []byte) string { return string(cwlogs.Field(l, 2)) + "-all" },
		Timestamp: func(l []byte) int64 {
			s, _ := strconv.ParseInt(string(cwlogs.Field(l, 10)), 10, 64)
			return s * 1000
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &costReport{invocations: len(payloads)}
	for _, p := range payloads {
		s, err := invokeRaw(t, h, p)
		if err != nil {
			t.Fatal(err)
		}
		r.bytes += s.Bytes
	}
	r.ops = cnt.n
	return r
}

// TestCostPerGB counts every AWS request the pipeline makes for an hour of
// the demo's day (its density: 400,000 records a day over the reference
// network's ENIs) and for a high-cardinality hour (the same plus 3,000
// internet peers), per GB of flow logs, and prices them at list prices.
func TestCostPerGB(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests two days through moto_server")
	}
	day := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	demo, _ := synth.Scenario(7, synth.DetectFormat, day, time.Hour, 400_000/24, day.Add(10*time.Minute))
	_, demo, _ = bytes.Cut(demo, []byte{'\n'})
	// Budgets: today's measured figures with a margin, so a change that
	// adds requests fails here. The target is $0.01 per GB; the
	// CloudWatch Logs path cannot reach it while every invocation writes
	// its own lake object and every key its own item (see the README).
	for _, tc := range []struct {
		name   string
		text   []byte
		budget float64
	}{
		{"demo day", demo, 0.25},
		{"high-cardinality day", append(slices.Clip(demo), highCardinality(day, 3_000)...), 1.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ingestDay(t, tc.text)
			t.Logf("%s: %s", tc.name, r)
			if r.ops["DynamoDB UpdateItem"] == 0 || r.ops["S3 PutObject"] == 0 {
				t.Errorf("requests not counted: %v", r.ops)
			}
			if c := r.total(); math.IsNaN(c) || c > tc.budget {
				t.Errorf("%s: $%.4f per GB all-in, over the $%.2f budget", tc.name, c, tc.budget)
			}
		})
	}
}

// invokeRaw invokes a handler through lambda.NewHandler and decodes its
// response.
func invokeRaw(t *testing.T, h *handler, payload []byte) (summary, error) {
	t.Helper()
	out, err := lambda.NewHandler(h).Invoke(t.Context(), payload)
	if err != nil {
		return summary{}, err
	}
	var s summary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return s, nil
}
