package stacks

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/flowq/flowq/infra/iampolicy"
)

// TestCollectSchedule: for every interval collectMinutes accepts, the schedule's
// cron expression, evaluated here field by field over two days (an independent
// reading of EventBridge's minute and hour fields), fires once per slot, the first
// minute after the slot's end plus the settle delay: each run finds exactly one
// newly settled slot, and no slot waits a whole extra interval.
func TestCollectSchedule(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{60, "cron(16 * * * ? *)"}, {5, "cron(1/5 * * * ? *)"}, {15, "cron(1/15 * * * ? *)"},
		{30, "cron(16/30 * * * ? *)"}, {20, "cron(16/20 * * * ? *)"}, {120, "cron(16 0/2 * * ? *)"}, {720, "cron(16 0/12 * * ? *)"},
	} {
		if got := CollectSchedule(tc.n); got != tc.want {
			t.Errorf("CollectSchedule(%d) = %s, want %s", tc.n, got, tc.want)
		}
	}
	valid := 0
	for n := 1; n <= 1440; n++ {
		if validateCollectMinutes(n) != nil {
			continue
		}
		valid++
		expr := CollectSchedule(n)
		fires := cronMinutes(t, expr, 2*1440)
		if len(fires) != 2*1440/n {
			t.Errorf("%d minutes: %s fires %d times in two days, want %d", n, expr, len(fires), 2*1440/n)
			continue
		}
		for _, f := range fires {
			// The slots settled by minute f, and by the previous run.
			settled := func(at int) int { return (at - CollectSettleMinutes) / n } // slots whose end+settle ≤ at (floor)
			if f < CollectSettleMinutes+n {
				continue // the first day's first runs have no earlier slot
			}
			if got := settled(f) - settled(f-n); got != 1 {
				t.Errorf("%d minutes: the run at minute %d finds %d newly settled slots, want 1", n, f, got)
			}
			if lag := (f - CollectSettleMinutes) % n; lag != 1 {
				t.Errorf("%d minutes: the run at minute %d comes %d minutes after a slot settled, want 1", n, f, lag)
			}
		}
		// The Lambda's timeout ends a run before the next one starts.
		if to := collectTimeoutMinutes(n); to >= n || to > 15 || to < 4 {
			t.Errorf("%d minutes: timeout %d minutes", n, to)
		}
	}
	if valid != 14 {
		t.Errorf("%d valid intervals, want 14 (8 divisors of 60 from 5, 6 whole-hour divisors of a day up to 12 h)", valid)
	}
}

// cronMinutes returns the minutes (from midnight UTC of day one) at which an
// EventBridge cron(M H * * ? *) expression fires, M and H being a value or
// start/step, H also "*".
func cronMinutes(t *testing.T, expr string, span int) []int {
	t.Helper()
	f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
	if len(f) != 6 || f[2] != "*" || f[3] != "*" || f[4] != "?" || f[5] != "*" {
		t.Fatalf("%s: not cron(M H * * ? *)", expr)
	}
	field := func(s string, max int) map[int]bool {
		out := map[int]bool{}
		if s == "*" {
			s = "0/1"
		}
		start, step, stepped := strings.Cut(s, "/")
		a, err := strconv.Atoi(start)
		if err != nil || a >= max {
			t.Fatalf("%s: field %q", expr, s)
		}
		inc := max
		if stepped {
			if inc, err = strconv.Atoi(step); err != nil || inc < 1 {
				t.Fatalf("%s: field %q", expr, s)
			}
		}
		for v := a; v < max; v += inc {
			out[v] = true
		}
		return out
	}
	mins, hours := field(f[0], 60), field(f[1], 24)
	var out []int
	for m := 0; m < span; m++ {
		if mins[m%60] && hours[(m/60)%24] {
			out = append(out, m)
		}
	}
	return out
}

// TestCollector: in the default mode the Lambda is fed by the collector's schedule
// and nothing else: the rule and its target, the permission EventBridge needs (for
// that rule only), the environment that tells the run where the objects are and how
// long a slot is, a role that may list and read only the flow log's objects in this
// region, no S3 notification and no subscription.
func TestCollector(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
		n      int
	}{{"tradai", nil, 60}, {"menotime", map[string]string{"collectMinutes": "15"}, 15}} {
		t.Run(fmt.Sprint(tc.preset, tc.n), func(t *testing.T) {
			s := synth(t, tc.preset, tc.ctx)
			tmpl := s.pipeline
			region := s.cfg.Region
			rule := resources(t, tmpl, "AWS::Events::Rule")[CollectScheduleID]
			if rule == nil {
				t.Fatalf("no rule %s", CollectScheduleID)
			}
			targets := asList(rule["Targets"])
			if rule["ScheduleExpression"] != CollectSchedule(tc.n) || rule["State"] != "ENABLED" || len(targets) != 1 ||
				ref(targets[0]["Arn"]) != IngestFunctionID || targets[0]["Input"] != nil {
				t.Errorf("rule %v", rule)
			}
			diff(t, "retry policy", targets[0]["RetryPolicy"], map[string]any{"MaximumEventAgeInSeconds": float64(tc.n * 60), "MaximumRetryAttempts": 2.0})
			var invokers []string
			for id, p := range resources(t, tmpl, "AWS::Lambda::Permission") {
				if ref(p["FunctionName"]) == IngestFunctionID {
					invokers = append(invokers, fmt.Sprintf("%s: %v %v from %s", id, p["Principal"], p["Action"], ref(p["SourceArn"])))
				}
			}
			if len(invokers) != 1 || !strings.Contains(invokers[0], "events.amazonaws.com lambda:InvokeFunction from "+CollectScheduleID) {
				t.Errorf("the function's invokers %v: want the schedule alone", invokers)
			}

			fn := resources(t, tmpl, "AWS::Lambda::Function")[IngestFunctionID]
			env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
			diff(t, "collector environment", []any{env[EnvCollectMinutes], env[EnvSettleMinutes]}, []any{fmt.Sprint(tc.n), "15"})
			diff(t, "timeout", fn["Timeout"], float64(collectTimeoutMinutes(tc.n)*60))

			if lc := resources(t, tmpl, "AWS::S3::Bucket")[FlowLogBucketID]["NotificationConfiguration"]; lc != nil {
				t.Errorf("flow-log bucket notifications %v", lc)
			}
			for _, typ := range []string{"AWS::Logs::SubscriptionFilter", "AWS::Lambda::EventSourceMapping"} {
				if r := resources(t, tmpl, typ); len(r) != 0 {
					t.Errorf("%s: %v", typ, r)
				}
			}

			// The role's policy, evaluated: list this region's delivered objects (any
			// day prefix), read them; nothing else of the bucket, nothing of another
			// region, no listing without a prefix.
			in := testIntrinsics()
			delivery := in.Resolve(env[EnvDelivery])
			bucket, prefix, _ := strings.Cut(strings.TrimPrefix(delivery, "s3://"), "/")
			diff(t, "delivery prefix", prefix, "AWSLogs/"+testAccount+"/vpcflowlogs/"+region+"/")
			policy := resources(t, tmpl, "AWS::IAM::Policy")[IngestPolicyID]["PolicyDocument"].(map[string]any)
			doc := map[string]any{"Statement": []any{}}
			for _, st := range asList(policy["Statement"]) {
				st["Principal"] = "*" // an identity policy: its principal is the role
				doc["Statement"] = append(doc["Statement"].([]any), st)
			}
			day := prefix + "2026/11/30/"
			object := "arn:aws:s3:::" + bucket + "/" + day + "123456789012_vpcflowlogs_" + region + "_fl-0123456789abcdef0_20261130T1005Z_3f1e2d4c.log.gz"
			for _, c := range []struct {
				action, resource, prefix, want string
			}{
				{"s3:ListBucket", "arn:aws:s3:::" + bucket, day, "allow"},
				{"s3:ListBucket", "arn:aws:s3:::" + bucket, prefix, "allow"},
				{"s3:ListBucket", "arn:aws:s3:::" + bucket, "AWSLogs/" + testAccount + "/vpcflowlogs/eu-west-1/2026/11/30/", "implicit deny"},
				{"s3:ListBucket", "arn:aws:s3:::" + bucket, "", "implicit deny"},
				{"s3:ListBucket", "arn:aws:s3:::another-bucket", day, "implicit deny"},
				{"s3:GetObject", object, "", "allow"},
				{"s3:GetObject", "arn:aws:s3:::" + bucket + "/AWSLogs/" + testAccount + "/other/x", "", "implicit deny"},
				{"s3:PutObject", object, "", "implicit deny"},
				{"s3:DeleteObject", object, "", "implicit deny"},
			} {
				ctx := map[string]string{}
				if c.prefix != "" {
					ctx["s3:prefix"] = c.prefix
				}
				r := iampolicy.Request{Account: testAccount, Action: c.action, Resource: c.resource, Context: ctx}
				if got := in.Evaluate(doc, r); got != c.want {
					t.Errorf("%s on %s (prefix %q): %s, want %s", c.action, c.resource, c.prefix, got, c.want)
				}
			}
		})
	}
}

// TestDeliveryModes: each mode feeds the Lambda one way only, and says which in the
// pipeline stack's description (cdk synth prints the same sentence).
func TestDeliveryModes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ctx      map[string]string
		feed     []string // the resources that invoke the Lambda
		describe string
	}{
		{"collector (default)", nil, []string{"AWS::Events::Rule " + CollectScheduleID}, "read by the scheduled collector every 60 minutes"},
		{"S3 notifications", s3Context, []string{"AWS::S3::Bucket " + FlowLogBucketID}, "each object (one per 5 minutes) invoking the Lambda"},
		{"CloudWatch Logs", cwContext, []string{"AWS::Logs::SubscriptionFilter " + FlowLogSubscriptionID}, "real time, the highest cost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, "tradai", tc.ctx)
			var feed []string
			for _, typ := range []string{"AWS::Events::Rule", "AWS::S3::Bucket", "AWS::Logs::SubscriptionFilter"} {
				for id, p := range resources(t, s.pipeline, typ) {
					switch {
					case typ == "AWS::Events::Rule" && id != InventoryScheduleID && strings.Contains(flat(p["Targets"]), IngestFunctionID):
					case typ == "AWS::S3::Bucket" && p["NotificationConfiguration"] != nil:
					case typ == "AWS::Logs::SubscriptionFilter":
					default:
						continue
					}
					feed = append(feed, typ+" "+id)
				}
			}
			diff(t, "what invokes the Lambda", feed, tc.feed)
			desc := *s.stacks.Pipeline.Stack.TemplateOptions().Description()
			if !strings.Contains(desc, tc.describe) || !strings.Contains(desc, s.cfg.DeliverySummary()) {
				t.Errorf("description %q, want %q", desc, tc.describe)
			}
		})
	}
}
