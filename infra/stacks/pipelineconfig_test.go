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
		{"defaults", nil, PipelineConfig{FlowLogDestination: FlowLogToCloudWatch, FlowLogFileFormat: FlowLogPlainText,
			NoRecordsMinutes: 30, ScanLimitGB: 10, InventoryMinutes: 15}, "", nil},
		{"s3 parquet", map[string]string{"flowLogDestination": "s3", "flowLogFileFormat": "parquet", "noRecordsMinutes": "120",
			"athenaScanLimitGB": "1", "env": "dev2"},
			PipelineConfig{FlowLogDestination: FlowLogToS3, FlowLogFileFormat: FlowLogParquet, NoRecordsMinutes: 120, ScanLimitGB: 1, InventoryMinutes: 15}, "dev2", nil},
		{"every problem at once", map[string]string{"flowLogDestination": "kinesis", "flowLogFileFormat": "csv", "noRecordsMinutes": "5",
			"athenaScanLimitGB": "x"}, PipelineConfig{},
			"", []string{"flowLogDestination: want cloud-watch-logs or s3", "flowLogFileFormat: want plain-text or parquet",
				"noRecordsMinutes: want 10 to 1440", `athenaScanLimitGB: "x" is not a whole number`}},
		{"parquet needs s3", map[string]string{"flowLogFileFormat": "parquet"}, PipelineConfig{}, "", []string{"parquet needs -c flowLogDestination=s3"}},
		{"missing file", map[string]string{"detectConfig": "testdata/none.yaml"}, PipelineConfig{}, "", []string{"detectConfig: open testdata/none.yaml"}},
		{"too big for Lambda's environment", map[string]string{"detectConfig": bigConfig(t)}, PipelineConfig{}, "", []string{"bytes; the Lambda's environment holds 4 KB in all"}},
		{"bad env", map[string]string{"env": "Prod-1"}, PipelineConfig{}, "", []string{"env: want 1 to 16 lower-case letters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := map[string]string{"preset": "tradai", "certificateArn": testCertificateARN("us-east-1")}
			for k, v := range tc.ctx {
				ctx[k] = v
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
