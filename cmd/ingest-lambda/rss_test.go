package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// fakeRuntime is the Lambda Runtime API, enough for one function process:
// it hands out the events in turn, collects the responses and errors.
type fakeRuntime struct {
	mu      sync.Mutex
	events  [][]byte
	results chan string
}

func (f *fakeRuntime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/runtime/invocation/next"):
		f.mu.Lock()
		if len(f.events) == 0 {
			f.mu.Unlock()
			<-r.Context().Done() // no more events: block, like Lambda between invocations
			return
		}
		ev := f.events[0]
		f.events = f.events[1:]
		f.mu.Unlock()
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", fmt.Sprintf("req-%d", time.Now().UnixNano()))
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:flowq-ingest")
		w.Write(ev)
	case r.Method == http.MethodPost:
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		f.results <- filepath.Base(r.URL.Path) + " " + string(b)
	default:
		http.NotFound(w, r)
	}
}

// TestBinaryPeakRSS runs the real function binary (host architecture)
// against a fake Runtime API and moto_server, as a 128 MB function, with the
// largest asynchronous event (1 MB) three times, and reports the process's
// peak resident memory (VmHWM). Measured here: about 35 MB idle after init,
// about 95 MB at peak.
func TestBinaryPeakRSS(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds and runs the function binary on linux")
	}
	f := newFixture(t, nil) // moto_server with the lake bucket
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var payload []byte
	for size := 4 << 20; size < 64<<20; size = size * 9 / 8 {
		p, _ := benchPayload(t, size)
		if len(p) > 1_000_000 {
			break
		}
		payload = p
	}
	const n = 3
	rt := &fakeRuntime{events: slices.Repeat([][]byte{payload}, n), results: make(chan string, n)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rt}
	go srv.Serve(l)
	defer srv.Close()

	cmd := exec.Command(bin)
	cmd.Env = append(f.moto.Env(),
		"AWS_LAMBDA_RUNTIME_API="+l.Addr().String(), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		envLake+"=s3://"+lakeBucket+"/flows", envLogFormat+"="+seedFormat)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := range n {
		select {
		case r := <-rt.results:
			if !strings.HasPrefix(r, "response ") || !strings.Contains(r, `"records":`) {
				t.Fatalf("invocation %d: %s", i, r)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("the function did not answer")
		}
	}
	took := time.Since(start)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var hwm string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			hwm = strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	objs, err := f.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(lakeBucket)})
	if err != nil || len(objs.Contents) == 0 {
		t.Fatalf("nothing in the lake: %v", err)
	}
	t.Logf("3 × 1 MB event (%d bytes) in the real binary as a 128 MB function: peak RSS %s, %v from start (init + 3 invocations against moto)",
		len(payload), hwm, took.Round(time.Millisecond))
	var kb int
	fmt.Sscanf(hwm, "%d", &kb)
	if kb > 120<<10 {
		t.Errorf("peak RSS %s: does not fit a 128 MB function", hwm)
	}
}
