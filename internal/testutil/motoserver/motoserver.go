// Package motoserver starts a real moto_server (the AWS API emulator) for
// tests, on 127.0.0.1 with a port moto picks itself, and gives AWS SDK configs pointing at
// it. When moto_server is missing the test is skipped with install
// instructions — except under CI=true, where it fails.
package motoserver

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region the test configs use.
const Region = "us-east-1"

// Server is a running moto_server.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
}

// Start launches moto_server for the test and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		msg := "moto_server not found: install it with `pip install 'moto[server]'` (or run `make tools`)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Port 0: moto binds a free port itself and prints it, so two servers
	// started at once (parallel test packages) can never collide.
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		r.Close()
	})
	port := make(chan string, 1)
	var (
		mu    sync.Mutex
		early strings.Builder // what moto said before it listened, for errors
	)
	said := func() string { mu.Lock(); defer mu.Unlock(); return early.String() }
	go func() {
		sc := bufio.NewScanner(r)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if !found {
				if m := runningOn.FindStringSubmatch(line); m != nil {
					found = true
					port <- m[1]
				} else {
					mu.Lock()
					if early.Len() < 4096 {
						early.WriteString(line + "\n")
					}
					mu.Unlock()
				}
			}
			if testing.Verbose() {
				fmt.Fprintln(os.Stderr, line)
			}
		}
		if !found {
			close(port)
		}
	}()
	var s *Server
	select {
	case p, ok := <-port:
		if !ok {
			t.Fatalf("moto_server exited before listening:\n%s", said())
		}
		s = &Server{Endpoint: "http://127.0.0.1:" + p, cmd: cmd}
	case <-time.After(30 * time.Second):
		t.Fatalf("moto_server did not start listening within 30s:\n%s", said())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", s.Endpoint, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// runningOn matches the line werkzeug prints once moto_server listens.
var runningOn = regexp.MustCompile(`Running on http://127\.0\.0\.1:(\d+)`)

// Config returns an AWS config whose clients all talk to the server, with
// static test credentials.
func (s *Server) Config(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithBaseEndpoint(s.Endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
	)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// Env returns environment variables that point a process (such as the
// Lambda binary or the aws CLI) at the server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
	}
}
