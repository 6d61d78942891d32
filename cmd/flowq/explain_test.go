package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestInventoryExplainMoto builds the reference network in moto, syncs it
// with flowq inventory sync (endpoint from AWS_ENDPOINT_URL) and asks
// flowq explain about flows allowed and blocked at each layer.
func TestInventoryExplainMoto(t *testing.T) {
	srv := motoserver.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	c := ec2.NewFromConfig(srv.Config(t))
	n, err := invtest.Build(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct{ subnet, ip, name, group string }{
		{n.Private[0], "10.0.11.50", "trading-api", n.ECS},
		{n.Database[0], "10.0.20.100", "tradai-db", n.RDS},
		{n.Private[1], "10.0.12.200", "secrets-endpoint", n.VPCE},
		{n.Public[0], "10.0.1.77", "tools-host", n.VPCE}, // all egress, no public address
	} {
		if _, err := invtest.ENI(ctx, c, e.subnet, e.ip, e.name, e.group); err != nil {
			t.Fatal(err)
		}
	}
	lake := filepath.Join(t.TempDir(), "lake")
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--vpc-id", n.VPC)
	if code != 0 || !strings.Contains(out, "4 interfaces") && !strings.Contains(out, "5 interfaces") {
		t.Fatalf("inventory sync: exit %d\n%s%s", code, out, errb)
	}
	for _, tc := range []struct {
		name                 string
		args                 []string
		verdict, layer, rule string
	}{
		{"allowed by a group reference", []string{"--src", "10.0.11.50", "--dst", "10.0.20.100", "--dst-port", "5432"},
			"allow", "security-group", "ingress tcp 5432 from " + n.ECS},
		{"blocked by a security group", []string{"--src", "10.0.11.50", "--dst", "10.0.20.100", "--dst-port", "22"},
			"deny", "security-group", "(tradai-ecs-sg) egress: no rule allows tcp/22 to 10.0.20.100"},
		{"blocked by a network acl", []string{"--src", "10.0.11.50", "--dst", "10.0.12.200", "--dst-port", "443"},
			"deny", "network-acl", "(tradai-private-nacl) ingress rule"},
		{"blocked by a route", []string{"--src", "10.0.1.77", "--dst", "203.0.113.5", "--dst-port", "443"},
			"deny", "route", "-> " + n.IGW + ": 10.0.1.77 has no public address"},
		{"udp allowed by an all-protocols rule is still stopped by the acl", []string{"--src", "10.0.1.77", "--dst", "10.0.12.200", "--dst-port", "53", "--protocol", "udp"},
			"deny", "network-acl", "(tradai-public-nacl) egress rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := runCLI(t, "", nil, append([]string{"--lake", lake, "explain", "-o", "json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb)
			}
			var got struct{ Verdict, Layer, Rule string }
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.Verdict != tc.verdict || got.Layer != tc.layer || !strings.Contains(got.Rule, tc.rule) {
				t.Errorf("got %s %s %q, want %s %s ~%q", got.Verdict, got.Layer, got.Rule, tc.verdict, tc.layer, tc.rule)
			}
		})
	}
	// The text form names both ends.
	code, out, errb = runCLI(t, "", nil, "--lake", lake, "explain", "--src", "10.0.11.50", "--dst", "10.0.20.100", "--dst-port", "22")
	if code != 0 || !strings.Contains(out, "DENY  security-group") || !strings.Contains(out, "trading-api") || !strings.Contains(out, "tradai-db") {
		t.Errorf("text explain: exit %d\n%s%s", code, out, errb)
	}
}

func TestExplainUsage(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad address", []string{"--src", "10.0.11", "--dst", "10.0.20.100", "--dst-port", "22"}, exitUsage, `--src "10.0.11"`},
		{"no port for tcp", []string{"--src", "10.0.11.5", "--dst", "10.0.20.100"}, exitUsage, "--dst-port is required"},
		{"bad protocol", []string{"--src", "10.0.11.5", "--dst", "10.0.20.100", "--protocol", "sctp"}, exitUsage, `--protocol "sctp"`},
		{"bad output", []string{"--src", "10.0.11.5", "--dst", "10.0.20.100", "--dst-port", "1", "-o", "csv"}, exitUsage, `--output "csv"`},
		{"no lake", []string{"--src", "10.0.11.5", "--dst", "10.0.20.100", "--dst-port", "1"}, exitRejected, lake},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errb := runCLI(t, "", nil, append([]string{"--lake", lake, "explain"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errb, tc.want) {
				t.Errorf("exit %d %q, want %d ~%q", code, errb, tc.code, tc.want)
			}
		})
	}
}
