package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// saveSnapshot stores s in the local lake's inventory (making the lake if
// need be).
func saveSnapshot(t *testing.T, lake string, s *inventory.Snapshot) {
	t.Helper()
	l, err := store.Open(context.Background(), lake, store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := inventory.OpenArchive(context.Background(), l, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arch.Save(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// TestDetectWithInventory: with the demo network's snapshot in the lake,
// flowq detect names the alerts' resources, and the NAT instance's own
// record of the exfiltration (the translated leg, logged on its interface)
// raises no second alert.
func TestDetectWithInventory(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	text, _ := synth.Scenario(7, synth.DetectFormat, day, 24*time.Hour, 5000, day.Add(14*time.Hour))
	// The NAT instance logs the exfiltration's translated leg from its own
	// address (AWS's default fields only say srcaddr/dstaddr).
	at := day.Add(14*time.Hour + 17*time.Minute).Unix()
	nat := fmt.Sprintf("5 %s %s 10.0.1.10 %s 61000 443 6 1000 %d %d %d ACCEPT OK vpc-0flowq0seed0001 subnet-0pub1 0 IPv4 10.0.1.10 %s - egress\n",
		synth.Account, synth.NAT.ENI, synth.ExfilDst, synth.ExfilBytes, at, at+400, synth.ExfilDst)
	p := writeFile(t, dir, "day.log", append(text, nat...))
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 {
		t.Fatalf("ingest: %s%s", out, errb)
	}
	exfil := func() []map[string]any {
		code, out, errb := runCLI(t, "", nil, "--lake", lake, "detect", "-o", "json")
		if code != 0 {
			t.Fatalf("detect: exit %d: %s", code, errb)
		}
		var got []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var a map[string]any
			if err := json.Unmarshal([]byte(line), &a); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			if a["detector"] == "exfiltration" {
				got = append(got, a)
			}
		}
		return got
	}
	if got := exfil(); len(got) != 2 {
		t.Fatalf("without an inventory: %d exfiltration alerts, want 2 (the task's and the NAT's)", len(got))
	}
	saveSnapshot(t, lake, inventory.DemoSnapshot(day))
	got := exfil()
	if len(got) != 1 || got[0]["src"] != "10.0.11.50" {
		t.Fatalf("with the inventory: %v, want one alert from 10.0.11.50", got)
	}
	res, _ := got[0]["src_resource"].(map[string]any)
	groups, _ := res["security_groups"].([]any)
	if res["name"] != "tradai-backend-api" || res["subnet_name"] != "tradai-private-a" || res["eni"] != "eni-0a1b2c3d4e5f60011" ||
		len(groups) != 1 || groups[0].(map[string]any)["name"] != "tradai-ecs-sg" {
		t.Errorf("src_resource: %v", res)
	}
	if got[0]["dst_resource"] != nil {
		t.Errorf("dst_resource of an internet address: %v", got[0]["dst_resource"])
	}
}

// TestInventorySyncBadVPCID: a malformed --vpc-id is a usage error naming
// the flag, before anything is created or asked: no lake directory, no
// call to SSM or EC2. Before, the lake was created, SSM asked for the
// declared rules, and the command failed with exit 1 and "inventory sync:
// vpc id ...", which names no flag.
func TestInventorySyncBadVPCID(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens: a call would fail
	for _, id := range []string{"foo", "vpc-", "subnet-0abc123"} {
		code, _, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--region", "us-east-1", "--vpc-id", id)
		if code != 2 || !strings.Contains(errb, "--vpc-id") || strings.Contains(errb, "declared") {
			t.Errorf("--vpc-id %s: exit %d, stderr %q; want 2 and a message naming --vpc-id", id, code, errb)
		}
		if _, err := os.Stat(lake); err == nil {
			t.Fatalf("--vpc-id %s: the lake was created", id)
		}
	}
}
