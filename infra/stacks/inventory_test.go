package stacks

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestInventoryEC2ActionsMatchSync: the inventory role's EC2 actions are exactly
// the calls of ec2sync's EC2 interface (read from its source, independently of the
// list in inventory.go). TestLeastPrivilege checks the whole role against the
// Lambda's call graph; this is the quick check.
func TestInventoryEC2ActionsMatchSync(t *testing.T) {
	src, err := os.ReadFile("../../internal/inventory/ec2sync/sync.go")
	if err != nil {
		t.Fatal(err)
	}
	iface := regexp.MustCompile(`(?s)type EC2 interface \{(.*?)\n\}`).FindSubmatch(src)
	if iface == nil {
		t.Fatal("no EC2 interface in ec2sync/sync.go")
	}
	var want []string
	for _, m := range regexp.MustCompile(`ec2\.(\w+)APIClient`).FindAllSubmatch(iface[1], -1) {
		want = append(want, "ec2:"+string(m[1]))
	}
	sort.Strings(want)
	role := resources(t, synth(t, "tradai", nil).pipeline, "AWS::IAM::Role")[InventoryRoleID]
	var got []string
	for _, st := range roleStatements(t, role) {
		for _, a := range actionList(st["Action"]) {
			if strings.HasPrefix(a, "ec2:") {
				got = append(got, a)
				if st["Resource"] != "*" {
					t.Errorf("%s on %v: Describe* has no resource-level permissions", a, st["Resource"])
				}
			}
		}
	}
	diff(t, "inventory role EC2 actions (-role +ec2sync)", sorted(got), want)
}

// TestInventoryFunction: the function, its schedule (-c inventoryMinutes), its
// role's S3 grants (the lake's inventory prefix only), its encrypted log group and
// its errors alarm.
func TestInventoryFunction(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ctx      map[string]string
		schedule string
		vpc      bool // FLOWQ_VPC_ID set
	}{
		// With the collector (the default) as often as it runs, within 15 to 60
		// minutes; with a real-time destination every 15 minutes.
		{"default", nil, "rate(1 hour)", true},
		{"collector every 15 minutes", map[string]string{"collectMinutes": "15"}, "rate(15 minutes)", true},
		{"collector every 2 hours", map[string]string{"collectMinutes": "120"}, "rate(1 hour)", true},
		{"cloud-watch-logs", map[string]string{"flowLogDestination": "cloud-watch-logs"}, "rate(15 minutes)", true},
		{"every 5 minutes", map[string]string{"inventoryMinutes": "5"}, "rate(5 minutes)", true},
		{"existing flow log: every VPC", map[string]string{"flowLogGroup": "/aws/vpc/prod-flow-logs"}, "rate(15 minutes)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := synth(t, "tradai", tc.ctx).pipeline
			fn := resources(t, tmpl, "AWS::Lambda::Function")[InventoryFunctionID]
			if fn == nil {
				t.Fatalf("no function %s", InventoryFunctionID)
			}
			diff(t, "runtime", []any{fn["Runtime"], fn["Architectures"], fn["Handler"], ref(fn["Role"]), fn["MemorySize"]},
				[]any{"provided.al2023", []any{"arm64"}, "bootstrap", InventoryRoleID, float64(InventoryMemoryMB)})
			env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
			if lake := ref(env["FLOWQ_LAKE"]); !strings.Contains(lake, LakeBucketID) || !strings.Contains(lake, "/"+LakePrefix) {
				t.Errorf("FLOWQ_LAKE = %s, want the lake bucket's /%s", lake, LakePrefix)
			}
			if _, ok := env["FLOWQ_VPC_ID"]; ok != tc.vpc {
				t.Errorf("FLOWQ_VPC_ID = %v, want set: %v", env["FLOWQ_VPC_ID"], tc.vpc)
			}
			if fn["LoggingConfig"] == nil || ref(fn["LoggingConfig"].(map[string]any)["LogGroup"]) != InventoryLogGroupID {
				t.Errorf("logging config %v, want the log group %s", fn["LoggingConfig"], InventoryLogGroupID)
			}

			rule := resources(t, tmpl, "AWS::Events::Rule")[InventoryScheduleID]
			if rule == nil {
				t.Fatalf("no rule %s", InventoryScheduleID)
			}
			targets := rule["Targets"].([]any)
			if rule["ScheduleExpression"] != tc.schedule || rule["State"] != "ENABLED" || len(targets) != 1 ||
				ref(targets[0].(map[string]any)["Arn"]) != InventoryFunctionID {
				t.Errorf("schedule %v %v, targets %v: want %s → %s", rule["ScheduleExpression"], rule["State"], targets, tc.schedule, InventoryFunctionID)
			}
			invoke := false
			for _, p := range resources(t, tmpl, "AWS::Lambda::Permission") {
				if ref(p["FunctionName"]) == InventoryFunctionID && p["Principal"] == "events.amazonaws.com" && ref(p["SourceArn"]) == InventoryScheduleID {
					invoke = true
				}
			}
			if !invoke {
				t.Error("no permission for the schedule (and only it) to invoke the function")
			}

			lg := resources(t, tmpl, "AWS::Logs::LogGroup")[InventoryLogGroupID]
			if lg == nil || ref(lg["KmsKeyId"]) != LogKeyID {
				t.Errorf("log group %v, want encrypted with %s", lg, LogKeyID)
			}
			alarm := resources(t, tmpl, "AWS::CloudWatch::Alarm")[InventoryErrorsAlarmID]
			if alarm == nil || alarm["MetricName"] != "Errors" || !strings.Contains(ref(alarm["AlarmActions"]), AlertTopicID) {
				t.Errorf("errors alarm %v", alarm)
			}

			// S3: objects and listing under the lake's inventory prefix only.
			role := resources(t, tmpl, "AWS::IAM::Role")[InventoryRoleID]
			var s3acts []string
			for _, st := range roleStatements(t, role) {
				for _, a := range actionList(st["Action"]) {
					if !strings.HasPrefix(a, "s3:") {
						continue
					}
					s3acts = append(s3acts, a)
					res := ref(st["Resource"])
					switch a {
					case "s3:ListBucket":
						cond, _ := st["Condition"].(map[string]any)
						like, _ := cond["StringLike"].(map[string]any)
						diff(t, "ListBucket s3:prefix", like["s3:prefix"], []any{InventoryMetaPrefix + "*"})
						if len(cond) != 1 {
							t.Errorf("ListBucket conditions %v", cond)
						}
					default:
						if !strings.Contains(res, "/"+InventoryMetaPrefix+"*") {
							t.Errorf("%s on %s, want the lake's %s* only", a, res, InventoryMetaPrefix)
						}
					}
				}
			}
			diff(t, "inventory role S3 actions", sorted(s3acts), []string{"s3:GetObject", "s3:ListBucket", "s3:PutObject"})
		})
	}
	t.Run("inventoryMinutes out of range", func(t *testing.T) {
		for _, v := range []string{"0", "1441", "x"} {
			_, err := ConfigFromContext(func(k string) (string, bool) {
				m := map[string]string{"preset": "tradai", "certificateArn": testCertificateARN("us-east-1"), "inventoryMinutes": v}
				s, ok := m[k]
				return s, ok
			})
			if err == nil || !strings.Contains(err.Error(), "inventoryMinutes") {
				t.Errorf("inventoryMinutes=%s: err = %v", v, err)
			}
		}
	})
}

func roleStatements(t *testing.T, role map[string]any) []map[string]any {
	t.Helper()
	if role == nil {
		t.Fatalf("no role %s", InventoryRoleID)
	}
	var out []map[string]any
	for _, p := range role["Policies"].([]any) {
		for _, st := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, st.(map[string]any))
		}
	}
	return out
}

func actionList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	for _, a := range list {
		out = append(out, a.(string))
	}
	return out
}

// TestInventoryOnDeploy: a completed deployment of the network stack or of the
// pipeline stack runs the sync (CloudFormation's stack status events, the
// stacks' own ARN prefixes only, created and updated); without the app's
// network (-c vpcId), the pipeline stack's alone.
func TestInventoryOnDeploy(t *testing.T) {
	tmpl := synth(t, "tradai", nil).pipeline
	rule := resources(t, tmpl, "AWS::Events::Rule")[InventoryOnDeployID]
	if rule == nil {
		t.Fatalf("no rule %s", InventoryOnDeployID)
	}
	pat := rule["EventPattern"].(map[string]any)
	diff(t, "source, detail-type", []any{pat["source"], pat["detail-type"]},
		[]any{[]any{"aws.cloudformation"}, []any{"CloudFormation Stack Status Change"}})
	detail := pat["detail"].(map[string]any)
	diff(t, "statuses", detail["status-details"], map[string]any{"status": []any{"CREATE_COMPLETE", "UPDATE_COMPLETE"}})
	if ids := detail["stack-id"].([]any); len(ids) != 2 || !strings.Contains(ref(ids[0]), ":stack/FlowqTradaiPipeline/") ||
		!strings.Contains(ref(ids[1]), ":stack/FlowqTradaiNetwork/") || !strings.Contains(ref(ids[1]), "cloudformation") {
		t.Errorf("stack-id %v, want the pipeline's and the network stack's ARN prefixes", ids)
	}
	targets := rule["Targets"].([]any)
	if len(targets) != 1 || ref(targets[0].(map[string]any)["Arn"]) != InventoryFunctionID {
		t.Errorf("targets %v, want %s", targets, InventoryFunctionID)
	}
	invoke := false
	for _, p := range resources(t, tmpl, "AWS::Lambda::Permission") {
		if ref(p["FunctionName"]) == InventoryFunctionID && ref(p["SourceArn"]) == InventoryOnDeployID {
			invoke = true
		}
	}
	if !invoke {
		t.Error("no permission for the rule to invoke the function")
	}
	vpcOnly := synth(t, "tradai", map[string]string{"vpcId": "vpc-0123456789abcdef0"}).pipeline
	r := resources(t, vpcOnly, "AWS::Events::Rule")[InventoryOnDeployID]
	if r == nil {
		t.Fatal("-c vpcId: no rule")
	}
	if ids := r["EventPattern"].(map[string]any)["detail"].(map[string]any)["stack-id"].([]any); len(ids) != 1 ||
		!strings.Contains(ref(ids[0]), ":stack/FlowqTradaiPipeline/") {
		t.Errorf("-c vpcId: stack-id %v, want the pipeline stack's alone", ids)
	}
}
