package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// lambdaEnv is how make lambda builds the function.
var lambdaEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"}

// TestNoCgoNoDuckDB: the function's dependency graph, as make lambda
// builds it, has neither DuckDB nor cgo.
func TestNoCgoNoDuckDB(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "-f", "{{.ImportPath}} {{if .CgoFiles}}CGO{{end}}", ".")
	cmd.Env = append(os.Environ(), lambdaEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(strings.ToLower(l), "duckdb") || strings.HasSuffix(l, " CGO") || strings.HasPrefix(l, "runtime/cgo") {
			t.Errorf("the Lambda depends on %s", l)
		}
	}
}

// TestBootstrap builds the real bootstrap (linux/arm64, no cgo) and a host
// binary, reports the size, and times the host binary's init phase up to
// the point where it asks the Lambda runtime API for an event.
func TestBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	dir := t.TempDir()
	build := func(out string, env ...string) int64 {
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	size := build(filepath.Join(dir, "bootstrap"), lambdaEnv...)
	t.Logf("bootstrap (linux/arm64, stripped): %.1f MiB", float64(size)/(1<<20))

	host := build(filepath.Join(dir, "host"), "CGO_ENABLED=0")
	_ = host
	// Init time: run the binary with a valid configuration and a runtime API
	// address that refuses connections; the first thing after init is the
	// request for an event, so the time to the "ready" log is the init time.
	if runtime.GOOS != "linux" {
		t.Skip("init timing needs linux")
	}
	cmd := exec.Command(filepath.Join(dir, "host"))
	cmd.Env = []string{
		envLake + "=s3://bucket/flows", envLogFormat + "=" + seedFormat,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_LAMBDA_RUNTIME_API=127.0.0.1:1", "AWS_LAMBDA_LOG_FORMAT=JSON",
	}
	stdout, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var got []byte
	for !strings.Contains(string(got), "ingest-lambda ready") {
		n, err := stdout.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	initTime := time.Since(start)
	cmd.Process.Kill()
	cmd.Wait()
	if !strings.Contains(string(got), "ingest-lambda ready") {
		t.Fatalf("the binary did not get ready:\n%s", got)
	}
	t.Logf("init (process start to ready, host %s/%s): %v", runtime.GOOS, runtime.GOARCH, initTime.Round(time.Millisecond))
}
