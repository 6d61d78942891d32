package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/synth"
)

// TestInventoryExplainMoto builds the reference network in moto, syncs it
// with flowq inventory sync (endpoint from AWS_ENDPOINT_URL) and asks
// flowq explain about flows allowed and blocked at each layer.
func TestInventoryExplainMoto(t *testing.T) {
	_, c, n := motoNetwork(t)
	ctx := context.Background()
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

// TestExplainBeforeFirstSnapshot: --at before every snapshot judges against
// the first and says so on stderr (JSON on stdout stays clean); at or after
// it, no note.
func TestExplainBeforeFirstSnapshot(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	saveSnapshot(t, lake, inventory.DemoSnapshot(day))
	args := []string{"--lake", lake, "explain", "--src", "10.0.11.51", "--dst", "10.0.21.100", "--dst-port", "22", "-o", "json"}
	code, out, errb := runCLI(t, "", nil, append(args, "--at", day.AddDate(0, 0, -30).Format(time.RFC3339))...)
	if code != 0 || !json.Valid([]byte(out)) || !strings.Contains(errb, "no inventory snapshot at or before "+day.AddDate(0, 0, -30).Format(time.RFC3339)) ||
		!strings.Contains(errb, "judged against the first, of "+day.Format(time.RFC3339)) {
		t.Errorf("before the first: exit %d\nstdout %s\nstderr %s", code, out, errb)
	}
	code, out, errb = runCLI(t, "", nil, append(args, "--at", day.Add(time.Hour).Format(time.RFC3339))...)
	if code != 0 || !json.Valid([]byte(out)) || errb != "" {
		t.Errorf("after it: exit %d\nstdout %s\nstderr %q", code, out, errb)
	}
}

// TestUnusedRulesCommand: flowq run unused-rules over a day of the demo's
// traffic with the demo network's snapshot in the lake.
func TestUnusedRulesCommand(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	p := writeFile(t, dir, "day.log", synth.Text(5, synth.DetectFormat, day, 20_000, true))
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 {
		t.Fatalf("ingest: %s%s", out, errb)
	}
	saveSnapshot(t, lake, inventory.DemoSnapshot(day.Add(-time.Hour)))
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "run", "unused-rules", "-o", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	// The day's traffic uses the ALB, ECS and database rules; nothing
	// reaches the Lambda group or the endpoint.
	for _, want := range []string{"sg-0lambda (tradai-lambda-sg) egress tcp 8002 to sg-0ecs", "sg-0vpce (tradai-vpce-sg) ingress tcp 443 from 10.0.0.0/16"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q not reported:\n%s", want, out)
		}
	}
	for _, used := range []string{"sg-0rds (tradai-rds-sg) ingress tcp 5432 from sg-0ecs", "sg-0alb (tradai-alb-sg) ingress tcp 443 from 0.0.0.0/0", "sg-0ecs (tradai-ecs-sg) ingress tcp 8000 from sg-0alb"} {
		if strings.Contains(out, used) {
			t.Errorf("used rule %q reported unused:\n%s", used, out)
		}
	}
	// Names next to addresses: the interfaces table joins the flows.
	code, out, errb = runCLI(t, "", nil, "--lake", lake, "query", "-o", "csv",
		"SELECT DISTINCT i.name FROM flows f JOIN interfaces i ON i.address = f.dstaddr WHERE f.dstport = 5432 AND f.action = 'ACCEPT' ORDER BY 1")
	if code != 0 || out != "name\ntradai-postgres\ntradai-postgres-standby\n" {
		t.Errorf("interfaces join: exit %d\n%s%s", code, out, errb)
	}
}

// TestExplainProtocolNames: --protocol takes the names in any case (TCP,
// Udp) and numbers, as people type them.
func TestExplainProtocolNames(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	saveSnapshot(t, lake, inventory.DemoSnapshot(day))
	for proto, want := range map[string]string{"TCP": "tcp", "Udp": "udp", "ICMP": "icmp", "17": "udp", "tcp": "tcp"} {
		code, out, errb := runCLI(t, "", nil, "--lake", lake, "explain", "--src", "10.0.11.51", "--dst", "10.0.21.100", "--dst-port", "53", "--protocol", proto, "-o", "json")
		var got struct{ Protocol string }
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Protocol != want {
			t.Errorf("--protocol %s: exit %d, protocol %q, want %q\n%s", proto, code, got.Protocol, want, errb)
		}
	}
}
