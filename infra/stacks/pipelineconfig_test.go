package stacks

import (
	"os"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) (string, error) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

// bigConfig writes a valid detection configuration over 3 KB (comments).
func bigConfig(t *testing.T) string {
	f := t.TempDir() + "/big.yaml"
	doc := "exfil-bytes: 2MB\n" + strings.Repeat("# a comment that takes room in Lambda's environment\n", 70)
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPipelineConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]string
		want    PipelineConfig
		env     string
		wantErr []string
	}{
		// The default: S3 delivery read by the collector every hour; the no-records
		// alarm's period outlasts a run's interval plus its settle delay.
		{"defaults", nil, PipelineConfig{FlowLogDestination: FlowLogToS3, CollectMinutes: 60, FlowLogFileFormat: FlowLogPlainText,
			NoRecordsMinutes: 90, ScanLimitGB: 10, InventoryMinutes: 60}, "", nil},
		{"s3 parquet", map[string]string{"flowLogDestination": "s3", "flowLogFileFormat": "parquet", "noRecordsMinutes": "120",
			"athenaScanLimitGB": "1", "env": "dev2"},
			PipelineConfig{FlowLogDestination: FlowLogToS3, CollectMinutes: 60, FlowLogFileFormat: FlowLogParquet, NoRecordsMinutes: 120, ScanLimitGB: 1, InventoryMinutes: 60}, "dev2", nil},
		{"collect every 15 minutes", map[string]string{"collectMinutes": "15"},
			PipelineConfig{FlowLogDestination: FlowLogToS3, CollectMinutes: 15, FlowLogFileFormat: FlowLogPlainText, NoRecordsMinutes: 45, ScanLimitGB: 10, InventoryMinutes: 15}, "", nil},
		{"collect every 12 hours", map[string]string{"collectMinutes": "720"},
			PipelineConfig{FlowLogDestination: FlowLogToS3, CollectMinutes: 720, FlowLogFileFormat: FlowLogPlainText, NoRecordsMinutes: 750, ScanLimitGB: 10, InventoryMinutes: 60}, "", nil},
		{"collect every 2 hours, inventory given", map[string]string{"collectMinutes": "120", "inventoryMinutes": "15"},
			PipelineConfig{FlowLogDestination: FlowLogToS3, CollectMinutes: 120, FlowLogFileFormat: FlowLogPlainText, NoRecordsMinutes: 150, ScanLimitGB: 10, InventoryMinutes: 15}, "", nil},
		{"s3 notifications", map[string]string{"flowLogDestination": "s3-notifications"},
			PipelineConfig{FlowLogDestination: FlowLogToS3, S3Notifications: true, CollectMinutes: 60, FlowLogFileFormat: FlowLogPlainText, NoRecordsMinutes: 30, ScanLimitGB: 10, InventoryMinutes: 15}, "", nil},
		{"cloudwatch", map[string]string{"flowLogDestination": "cloudwatch"},
			PipelineConfig{FlowLogDestination: FlowLogToCloudWatch, CollectMinutes: 60, FlowLogFileFormat: FlowLogPlainText, NoRecordsMinutes: 30, ScanLimitGB: 10, InventoryMinutes: 15}, "", nil},
		{"an existing flow-log group is read through CloudWatch Logs", map[string]string{"flowLogGroup": "/aws/vpc/fl", "certificateArn": ""},
			PipelineConfig{FlowLogDestination: FlowLogToCloudWatch, CollectMinutes: 60, FlowLogFileFormat: FlowLogPlainText, NoRecordsMinutes: 30, ScanLimitGB: 10, InventoryMinutes: 15}, "", nil},
		{"every problem at once", map[string]string{"flowLogDestination": "kinesis", "flowLogFileFormat": "csv", "noRecordsMinutes": "5",
			"athenaScanLimitGB": "x"}, PipelineConfig{},
			"", []string{"flowLogDestination: want s3 (the default: S3 delivery read by the scheduled collector), s3-notifications",
				"flowLogFileFormat: want plain-text or parquet", "noRecordsMinutes: want 10 to 1440", `athenaScanLimitGB: "x" is not a whole number`}},
		{"parquet needs s3", map[string]string{"flowLogFileFormat": "parquet", "flowLogDestination": "cloudwatch"}, PipelineConfig{}, "", []string{"parquet needs -c flowLogDestination=s3"}},
		{"collectMinutes not a divisor", map[string]string{"collectMinutes": "7"}, PipelineConfig{}, "", []string{"collectMinutes: want a divisor of 60 from 5", "got 7"}},
		{"collectMinutes too short", map[string]string{"collectMinutes": "2"}, PipelineConfig{}, "", []string{"collectMinutes: want a divisor of 60 from 5"}},
		{"collectMinutes a day", map[string]string{"collectMinutes": "1440"}, PipelineConfig{}, "", []string{"up to 12 hours", "got 1440"}},
		{"collectMinutes 7 hours", map[string]string{"collectMinutes": "420"}, PipelineConfig{}, "", []string{"whole hours that divide a day"}},
		{"collectMinutes not a number", map[string]string{"collectMinutes": "hourly"}, PipelineConfig{}, "", []string{`collectMinutes: "hourly" is not a whole number`}},
		{"collectMinutes without the collector", map[string]string{"collectMinutes": "30", "flowLogDestination": "cloud-watch-logs"}, PipelineConfig{}, "",
			[]string{"collectMinutes: only with the scheduled collector", "with -c flowLogDestination=cloud-watch-logs"}},
		{"no-records alarm between runs", map[string]string{"noRecordsMinutes": "60"}, PipelineConfig{}, "",
			[]string{"noRecordsMinutes: the collector runs every 60 minutes and takes a slot 15 minutes after it ends", "want more than 75 minutes (default 90), got 60"}},
		{"no-records alarm at the edge", map[string]string{"noRecordsMinutes": "75"}, PipelineConfig{}, "", []string{"want more than 75 minutes"}},
		{"s3 with an existing flow-log group", map[string]string{"flowLogGroup": "/aws/vpc/fl", "flowLogDestination": "s3", "certificateArn": ""}, PipelineConfig{}, "",
			[]string{"flowLogDestination: s3 turns on a flow log of its own; -c flowLogGroup subscribes"}},
		{"missing file", map[string]string{"detectConfig": "testdata/none.yaml"}, PipelineConfig{}, "", []string{"detectConfig: open testdata/none.yaml"}},
		{"too big for Lambda's environment", map[string]string{"detectConfig": bigConfig(t)}, PipelineConfig{}, "", []string{"bytes; the Lambda's environment holds 4 KB in all"}},
		{"bad env", map[string]string{"env": "Prod-1"}, PipelineConfig{}, "", []string{"env: want 1 to 16 lower-case letters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := map[string]string{"preset": "tradai", "certificateArn": testCertificateARN("us-east-1")}
			for k, v := range tc.ctx {
				ctx[k] = v
				if v == "" {
					delete(ctx, k)
				}
			}
			cfg, err := ConfigFromContext(func(k string) (string, bool) { v, ok := ctx[k]; return v, ok })
			if tc.wantErr != nil {
				for _, w := range tc.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v, want %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "pipeline config", cfg.Pipeline, tc.want)
			diff(t, "env", cfg.Env, tc.env)
		})
	}
}

// TestLakeColumnsFromFormat: the Glue columns follow the format, with AWS's types
// for every field the parser knows (its table in internal/parse/fields.go is read
// as text: the two lists are kept independently).
func TestLakeColumnsFromFormat(t *testing.T) {
	src, err := os.ReadFile("../../internal/parse/fields.go")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{"Int32": "int", "Int64": "bigint", "String": "string"}
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, `f("`) {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, `f(`), "),"), ", ")
		field, kind := strings.Trim(parts[0], `"`), parts[1]
		cols, err := lakeColumns("${" + field + "}")
		if err != nil {
			t.Fatal(err)
		}
		if cols[0].Type != kinds[kind] {
			t.Errorf("%s: Glue type %s, parser kind %s", field, cols[0].Type, kind)
		}
		n++
	}
	if n < 40 {
		t.Errorf("read only %d fields from internal/parse/fields.go", n)
	}
	for _, bad := range []string{"${version} srcaddr", "${srcaddr} ${srcaddr}"} {
		if _, err := lakeColumns(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
