package detect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
)

// TestRejectNamesItsDestination: "why can't the ECS task reach the
// database?" — the data-collection task's connections to the database,
// REJECTed (default v2 format). The reject alert names both ends: the
// destination is known when its rejected flows went to one address, as
// the title's "-> 10.0.21.100" says. Before, a reject alert never had a
// dst_resource (its key has no destination), nor the name in its title.
// To two destinations, it names none.
func TestRejectNamesItsDestination(t *testing.T) {
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).Unix()
	line := func(dst string, sp int) string {
		return fmt.Sprintf("2 123456789012 eni-0a1b2c3d4e5f60012 10.0.11.51 %s %d 5432 6 1 60 %d %d REJECT OK\n", dst, sp, start, start+5)
	}
	r := resolve.New(fixed{inventory.NewIndex(inventory.DemoSnapshot(time.Unix(start-86400, 0)))}, resolve.Options{})
	cfg := detect.DefaultConfig()
	cfg.Detectors = []string{detect.Reject}
	run := func(text string) detect.Alert {
		t.Helper()
		eng, err := detect.New(cfg, detect.NewMemoryState(), func() time.Time { return time.Unix(start+7200, 0) }, detect.WithResolver(r))
		if err != nil {
			t.Fatal(err)
		}
		rd := parse.NewReader(strings.NewReader(text), parse.Options{})
		defer rd.Release()
		var alerts []detect.Alert
		for rd.Next() {
			as, err := eng.Process(context.Background(), "b", rd.RecordBatch())
			if err != nil {
				t.Fatal(err)
			}
			alerts = append(alerts, as...)
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 1 {
			t.Fatalf("%d alerts, want 1 reject alert", len(alerts))
		}
		return alerts[0]
	}
	a := run(line("10.0.21.100", 41000) + line("10.0.21.100", 41001) + line("10.0.21.100", 41002))
	if a.SrcResource == nil || a.SrcResource.Name != "tradai-data-collection" {
		t.Errorf("src_resource %+v, want tradai-data-collection", a.SrcResource)
	}
	if a.DstResource == nil || a.DstResource.Name != "tradai-postgres" || a.DstResource.ENI != "eni-0a1b2c3d4e5f60021" || a.DstResource.SubnetName != "tradai-db-a" {
		t.Errorf("dst_resource %+v, want tradai-postgres", a.DstResource)
	}
	if want := "reject 10.0.11.51 (tradai-data-collection) 3 rejected -> 10.0.21.100 (tradai-postgres)"; a.Title != want {
		t.Errorf("title %q, want %q", a.Title, want)
	}
	a = run(line("10.0.21.100", 41000) + line("10.0.21.101", 41001))
	if a.DstResource != nil || strings.Contains(a.Title, "->") {
		t.Errorf("two destinations: dst_resource %+v, title %q; want neither naming one", a.DstResource, a.Title)
	}
}

// TestDestinationNamedFromRecordsVPC: a region-wide snapshot of two
// deployments of the reference network (both 10.0.0.0/16) holds the
// database's address twice. A port scan from prod's task to 10.0.21.100,
// logged on prod's interfaces, names prod's database: an address range two
// VPCs share cannot be routed between them (no peering, no transit gateway
// route overlaps), so the destination is in the VPC of the interface that
// logged the records. Before, the destination was resolved without that
// interface: no name at all (the address is ambiguous), and before 9cb22eb
// the dev deployment's database.
func TestDestinationNamedFromRecordsVPC(t *testing.T) {
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).Unix()
	s := inventory.DemoSnapshot(time.Unix(start-86400, 0))
	dev := []inventory.Interface{
		{ID: "eni-0dev11", Type: "interface", SubnetID: "subnet-0devpriv1", VPCID: "vpc-0dev", PrivateIPs: []string{"10.0.11.50"}, Tags: map[string]string{"Name": "dev-backend-api"}, SourceDestCheck: true},
		{ID: "eni-0dev21", Type: "interface", SubnetID: "subnet-0devdb1", VPCID: "vpc-0dev", PrivateIPs: []string{"10.0.21.100"}, Tags: map[string]string{"Name": "dev-postgres"}, SourceDestCheck: true},
	}
	s.Interfaces = append(dev, s.Interfaces...)
	s.Subnets = append(s.Subnets, inventory.Subnet{ID: "subnet-0devpriv1", VPCID: "vpc-0dev", CIDRs: []string{"10.0.11.0/24"}},
		inventory.Subnet{ID: "subnet-0devdb1", VPCID: "vpc-0dev", CIDRs: []string{"10.0.21.0/24"}})
	r := resolve.New(fixed{inventory.NewIndex(s)}, resolve.Options{})
	cfg := detect.DefaultConfig()
	cfg.Detectors = []string{detect.PortScan}
	for _, tc := range []struct{ eni, src, dst string }{
		{"eni-0a1b2c3d4e5f60011", "tradai-backend-api", "tradai-postgres"},
		{"eni-0dev11", "dev-backend-api", "dev-postgres"},
	} {
		var text strings.Builder
		for p := range 12 {
			fmt.Fprintf(&text, "2 123456789012 %s 10.0.11.50 10.0.21.100 41000 %d 6 1 60 %d %d REJECT OK\n", tc.eni, 1000+p, start+int64(p), start+int64(p)+5)
		}
		eng, err := detect.New(cfg, detect.NewMemoryState(), func() time.Time { return time.Unix(start+7200, 0) }, detect.WithResolver(r))
		if err != nil {
			t.Fatal(err)
		}
		rd := parse.NewReader(strings.NewReader(text.String()), parse.Options{})
		var alerts []detect.Alert
		for rd.Next() {
			as, err := eng.Process(context.Background(), "b", rd.RecordBatch())
			if err != nil {
				t.Fatal(err)
			}
			alerts = append(alerts, as...)
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		rd.Release()
		if len(alerts) != 1 {
			t.Fatalf("%s: %d alerts, want 1 port scan", tc.eni, len(alerts))
		}
		a := alerts[0]
		if a.SrcResource == nil || a.SrcResource.Name != tc.src || a.DstResource == nil || a.DstResource.Name != tc.dst {
			t.Errorf("scan logged on %s: %+v -> %+v, want %s -> %s", tc.eni, a.SrcResource, a.DstResource, tc.src, tc.dst)
		}
	}
}
