package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/awscost"
)

// The function as the CDK app deploys it, and the model of its billed time.
const (
	lambdaMemoryGB     = 0.512 // the CDK app's function
	handlerBytesPerCPU = 112e6 // handler throughput per core, 1 MiB events (README)
	ioWaitPerInvoke    = 60 * time.Millisecond
)

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
	out["lambda"] = (float64(r.invocations)*awscost.LambdaRequest + gbs*awscost.LambdaGBs) * 1e9 / float64(r.bytes)
	for op, n := range r.ops {
		p := awscost.Price(op) // DynamoDB items stay under 1 KB but port-scan ones
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
	cnt := awscost.NewCounter()
	awsCfg := f.moto.Config(t)
	awsCfg.APIOptions = append(awsCfg.APIOptions, cnt.Middleware)
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
	r.ops = cnt.N
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
