package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// motoNetwork starts moto, with its endpoint in the environment for the
// commands' SDK clients, and builds the reference network in it.
func motoNetwork(t *testing.T) (*motoserver.Server, *ec2.Client, *invtest.Network) {
	t.Helper()
	srv, c, n := invtest.Moto(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return srv, c, n
}

// TestDetectAfterSyncMoto: the reference network built in moto, a task's
// interface in its private subnet, `flowq inventory sync`, then AWS's NAT
// gateway example in the default v2 format (the task's record of 1.4 MB to
// the internet; the NAT gateway's records of the leg from the task and of
// the translated leg, and the replies) through `flowq ingest` and
// `flowq detect -o json`: one exfiltration alert, from the task, with the
// issue's resource fields as the sync read them from EC2.
func TestDetectAfterSyncMoto(t *testing.T) {
	_, c, n := motoNetwork(t)
	ctx := context.Background()
	if n.NATENI == "" || n.NATIP == "" {
		t.Fatalf("moto's NAT gateway has no interface: %+v", n)
	}
	task, err := invtest.ENI(ctx, c, n.Private[0], "10.0.11.50", "trading-api", n.ECS)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--vpc-id", n.VPC, "--declared", "none"); code != 0 {
		t.Fatalf("inventory sync: exit %d\n%s%s", code, out, errb)
	}
	at := day.Add(10 * 3600).Unix()
	rec := func(eni, src, dst string, sp, dp int, bytes int64) string {
		return fmt.Sprintf("2 123456789012 %s %s %s %d %d 6 %d %d %d %d ACCEPT OK\n", eni, src, dst, sp, dp, bytes/1400+1, bytes, at, at+60)
	}
	text := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		rec(task, "10.0.11.50", "203.0.113.5", 43512, 443, 1_400_000) +
		rec(task, "203.0.113.5", "10.0.11.50", 443, 43512, 40_000) +
		rec(n.NATENI, "10.0.11.50", n.NATIP, 43512, 443, 1_400_000) +
		rec(n.NATENI, n.NATIP, "203.0.113.5", 61000, 443, 1_400_000) +
		rec(n.NATENI, "203.0.113.5", n.NATIP, 443, 61000, 40_000) +
		rec(n.NATENI, n.NATIP, "10.0.11.50", 443, 43512, 40_000)
	p := writeFile(t, dir, "nat.log", []byte(text))
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 {
		t.Fatalf("ingest: %s%s", out, errb)
	}
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "detect", "-o", "json")
	if code != 0 {
		t.Fatalf("detect: exit %d: %s", code, errb)
	}
	type resource struct {
		ENI            string `json:"eni"`
		SubnetID       string `json:"subnet_id"`
		SubnetName     string `json:"subnet_name"`
		InterfaceType  string `json:"interface_type"`
		Description    string `json:"description"`
		Name           string `json:"name"`
		SecurityGroups []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"security_groups"`
	}
	type alert struct {
		Detector, Src, Dst, Title string
		Bytes                     int64
		SrcResource               *resource `json:"src_resource"`
		DstResource               *resource `json:"dst_resource"`
	}
	var exfil []alert
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if a.Detector == "exfiltration" {
			exfil = append(exfil, a)
		}
	}
	if len(exfil) != 1 || exfil[0].Src != "10.0.11.50" || exfil[0].Dst != "203.0.113.5" || exfil[0].Bytes != 1_400_000 {
		t.Fatalf("exfiltration alerts %+v, want one from 10.0.11.50 to 203.0.113.5 of 1,400,000 bytes:\n%s", exfil, out)
	}
	r := exfil[0].SrcResource
	if r == nil || r.ENI != task || r.SubnetID != n.Private[0] || r.SubnetName != "tradai-private-a" || r.InterfaceType != "interface" ||
		r.Description != "trading-api" || r.Name != "trading-api" || len(r.SecurityGroups) != 1 || r.SecurityGroups[0].ID != n.ECS || r.SecurityGroups[0].Name != "tradai-ecs-sg" {
		t.Errorf("src_resource %+v", r)
	}
	if exfil[0].DstResource != nil || !strings.Contains(exfil[0].Title, "10.0.11.50 (trading-api) -> 203.0.113.5") {
		t.Errorf("dst_resource %+v, title %q", exfil[0].DstResource, exfil[0].Title)
	}
}
