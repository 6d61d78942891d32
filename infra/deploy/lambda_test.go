package deploy

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/infra/stacks"
)

// deliveredRecords are three records in flowq's format, with values from AWS's
// documented examples: an accepted HTTPS download, a rejected SSH probe, and S3
// traffic through the gateway endpoint.
func deliveredRecords(hour time.Time) []map[string]string {
	start := hour.Add(2 * time.Minute).Unix()
	base := map[string]string{
		"version": "5", "account-id": "123456789012", "interface-id": "eni-1235b8ca123456789", "protocol": "6",
		"start": fmt.Sprint(start), "end": fmt.Sprint(start + 57), "log-status": "OK", "vpc-id": "vpc-abcdefab012345678",
		"subnet-id": "subnet-aaaaaaaa012345678", "instance-id": "i-0c50d5961bcb2d47b", "tcp-flags": "19", "type": "IPv4",
		"region": "us-east-1", "az-id": "use1-az1", "sublocation-type": "-", "sublocation-id": "-",
		"traffic-path": "-", "pkt-src-aws-service": "-", "pkt-dst-aws-service": "-",
	}
	with := func(kv ...string) map[string]string {
		r := map[string]string{}
		for k, v := range base {
			r[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			r[kv[i]] = kv[i+1]
		}
		r["pkt-srcaddr"], r["pkt-dstaddr"] = r["srcaddr"], r["dstaddr"]
		return r
	}
	return []map[string]string{
		with("srcaddr", "203.0.113.12", "dstaddr", "10.0.1.5", "srcport", "443", "dstport", "49152", "packets", "14",
			"bytes", "15044", "action", "ACCEPT", "flow-direction", "ingress"),
		with("srcaddr", "198.51.100.7", "dstaddr", "10.0.1.5", "srcport", "51510", "dstport", "22", "packets", "1",
			"bytes", "40", "action", "REJECT", "flow-direction", "ingress", "tcp-flags", "2"),
		with("srcaddr", "10.0.1.5", "dstaddr", "52.95.128.179", "srcport", "34210", "dstport", "443", "packets", "20",
			"bytes", "3200", "action", "ACCEPT", "flow-direction", "egress", "traffic-path", "7", "pkt-dst-aws-service", "S3"),
	}
}

// gzipText writes the records as AWS's S3 text objects do: a header line of the
// format's field names, then one line per record.
func gzipText(t *testing.T, recs []map[string]string) []byte {
	var fields []string
	for _, f := range strings.Fields(stacks.FlowLogFormat) {
		fields = append(fields, strings.Trim(f, "${}"))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintln(zw, strings.Join(fields, " "))
	for _, r := range recs {
		var vals []string
		for _, f := range fields {
			v, ok := r[f]
			if !ok {
				t.Fatalf("record lacks %s", f)
			}
			vals = append(vals, v)
		}
		fmt.Fprintln(zw, strings.Join(vals, " "))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// runLambda builds cmd/ingest-lambda for this machine (as the deployed bundle is
// built, but for the local OS and CPU), runs it against a local Lambda runtime API
// with the deployed function's environment pointed at moto, hands it event, and
// returns its response.
func runLambda(t *testing.T, env map[string]string, endpoint, fnName string, event []byte) ([]byte, []byte) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, stacks.IngestLambdaPackage)
	build.Dir = filepath.Dir(filepath.Dir(wd))
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the ingest Lambda: %v\n%s", err, out)
	}

	type result struct {
		body []byte
		err  bool
	}
	done := make(chan result, 1)
	const reqID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
	mux := http.NewServeMux()
	served := false
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if served { // one event: hold the next poll until the test ends
			<-r.Context().Done()
			return
		}
		served = true
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", reqID)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(2*time.Minute).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:"+modesRegion+":123456789012:function:"+fnName)
		w.Write(event)
	})
	reply := func(isErr bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			done <- result{b, isErr}
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", reply(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", reply(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", reply(true))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_REGION=" + modesRegion, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_LAMBDA_FUNCTION_NAME=" + fnName, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	select {
	case r := <-done:
		// The function waits for its next event: stop it, and wait for what it
		// printed to be copied (the log can trail the response).
		cmd.Process.Kill()
		cmd.Wait()
		if r.err {
			t.Fatalf("the function failed: %s\n%s", r.body, logs.String())
		}
		t.Logf("function log:\n%s", logs.String())
		return r.body, logs.Bytes()
	case <-time.After(3 * time.Minute):
		t.Fatalf("no response from the function in 3 minutes:\n%s", logs.String())
	}
	return nil, nil
}

// checkMetricFilters applies the template's metric filters (moto's CloudWatch Logs
// runs none) to the lines the function printed: each filter's pattern, of the form
// { $.a.b[0].c = "v" }, must match exactly one line (the invocation's metrics), and
// its value ($.Field) must be there with the count wanted.
func checkMetricFilters(t *testing.T, tmpl template, logs []byte, want map[string]float64) {
	t.Helper()
	n := 0
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		n++
		pattern := fmt.Sprint(r.Properties["FilterPattern"])
		sel, val, ok := strings.Cut(strings.Trim(pattern, "{} "), " = ")
		if !ok || !strings.HasPrefix(sel, "$.") {
			t.Errorf("%s: pattern %q is not { $.selector = value }", id, pattern)
			continue
		}
		mt := r.Properties["MetricTransformations"].([]any)[0].(map[string]any)
		field := strings.TrimPrefix(fmt.Sprint(mt["MetricValue"]), "$.")
		var matched []map[string]any
		for _, line := range bytes.Split(logs, []byte("\n")) {
			var doc map[string]any
			if json.Unmarshal(line, &doc) != nil {
				continue
			}
			if v, ok := jsonPath(doc, strings.TrimPrefix(sel, "$.")); ok && fmt.Sprint(v) == strings.Trim(val, `"`) {
				matched = append(matched, doc)
			}
		}
		if len(matched) != 1 {
			t.Errorf("%s: %s matches %d lines of the function's log, want 1", id, pattern, len(matched))
			continue
		}
		if got, ok := matched[0][field].(float64); !ok || got != want[fmt.Sprint(mt["MetricName"])] {
			t.Errorf("%s: %s = %v in the matched line, want %v", id, mt["MetricValue"], matched[0][field], want[fmt.Sprint(mt["MetricName"])])
		}
	}
	if n != len(want) {
		t.Errorf("%d metric filters in the template, want %d", n, len(want))
	}
}

// jsonPath follows a.b[0].c through decoded JSON.
func jsonPath(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		name, idx, indexed := strings.Cut(part, "[")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[name]; !ok {
			return nil, false
		}
		if indexed {
			var i int
			fmt.Sscanf(idx, "%d]", &i)
			l, ok := v.([]any)
			if !ok || i >= len(l) {
				return nil, false
			}
			v = l[i]
		}
	}
	return v, true
}
