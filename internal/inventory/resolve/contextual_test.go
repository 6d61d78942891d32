package resolve_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// natLegs is an exfiltration from a task through the demo network's NAT
// instance (eni-0a1b2c3d4e5f600aa, 10.0.1.10, public 192.0.2.10), as AWS
// logs it: on the task's interface, and on the NAT's as the untranslated
// and the translated leg.
func natLegs(at int64) string {
	line := func(eni, src, dst string, sp int) string {
		return fmt.Sprintf("5 123456789012 %s %s %s %d 443 6 900 60000000 %d %d ACCEPT OK vpc-0flowq0seed0001 subnet-0priv1 2 IPv4 %s %s - egress\n",
			eni, src, dst, sp, at, at+50, src, dst)
	}
	return line("eni-0a1b2c3d4e5f60011", "10.0.11.50", "203.0.113.9", 43100) +
		line("eni-0a1b2c3d4e5f600aa", "10.0.11.50", "203.0.113.9", 43100) +
		line("eni-0a1b2c3d4e5f600aa", "10.0.1.10", "203.0.113.9", 61000)
}

// TestContextualAlertsUnchanged: the enriched detectors give the same
// alerts — IDs, resources, NAT attribution, policy rules, in the same order
// — whether the NAT interfaces are found by comparing IDs with the
// snapshot's list in place or by asking the resolver about each, and
// whether the policy detector runs beside the engine or after it; and the
// same as an engine over SkipNAT's runs followed by a policy detector,
// each on its own.
func TestContextualAlertsUnchanged(t *testing.T) {
	demo, _ := synth.Scenario(9, synth.DetectFormat, day, 24*time.Hour, 30_000, day.Add(14*time.Hour))
	text := string(demo) + randomRecords(2, 5000)[len(synth.DetectFormat.Header())+1:] + natLegs(day.Add(15*time.Hour).Unix())
	now := func() time.Time { return day.Add(48 * time.Hour) }
	cfg := detect.DefaultConfig()
	cfg.Retention = 0

	type run func(ctx context.Context, id string, rec arrow.RecordBatch) ([]detect.Alert, error)
	process := func(t *testing.T, p run) []detect.Alert {
		t.Helper()
		rd := parse.NewReader(strings.NewReader(text), parse.Options{Format: synth.DetectFormat, BatchSize: 4096})
		defer rd.Release()
		var alerts []detect.Alert
		for k := 0; rd.Next(); k++ {
			as, err := p(context.Background(), fmt.Sprint("b", k), rd.RecordBatch())
			if err != nil {
				t.Fatal(err)
			}
			alerts = append(alerts, as...)
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		return alerts
	}
	contextual := func(t *testing.T, list bool, procs int) []detect.Alert {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r := resolve.New(newTwoSnapshots(), resolve.Options{})
		st := detect.NewMemoryState()
		eng, err := detect.New(cfg, st, now, detect.WithResolver(r))
		if err != nil {
			t.Fatal(err)
		}
		pol, err := detect.NewPolicyDetector(r, st, now, cfg, r)
		if err != nil {
			t.Fatal(err)
		}
		c := detect.NewContextual(eng, r.NAT, pol)
		if list {
			c = c.WithNATList(r.NATInterfaces)
		}
		alerts := process(t, c.Process)
		if _, skipped := c.Summary(); skipped != 2 {
			t.Errorf("%d records left out as NAT legs, want 2", skipped)
		}
		return alerts
	}

	// The reference: the engine over the runs SkipNAT keeps, then the
	// policy detector over the whole batch, one after the other.
	r := resolve.New(newTwoSnapshots(), resolve.Options{})
	st := detect.NewMemoryState()
	eng, err := detect.New(cfg, st, now, detect.WithResolver(r))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := detect.NewPolicyDetector(r, st, now, cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	want := process(t, func(ctx context.Context, id string, rec arrow.RecordBatch) ([]detect.Alert, error) {
		runs, skipped := detect.SkipNAT(rec, r.NAT)
		defer func() {
			for _, x := range runs {
				x.Release()
			}
		}()
		var out []detect.Alert
		for k, x := range runs {
			rid := id
			if skipped > 0 {
				rid = fmt.Sprintf("%s#nat%d", id, k)
			}
			as, err := eng.Process(ctx, rid, x)
			if err != nil {
				return nil, err
			}
			out = append(out, as...)
		}
		as, err := pol.Process(ctx, id+"#policy", rec)
		return append(out, as...), err
	})
	var exfil, policy int
	for _, a := range want {
		switch a.Detector {
		case detect.Exfiltration:
			exfil++
			if a.Src == "10.0.1.10" {
				t.Errorf("exfiltration alert from the NAT's own address: %s", a.Title)
			}
		case detect.Policy:
			policy++
		}
	}
	if exfil == 0 || policy < 20 {
		t.Fatalf("%d exfiltration and %d policy alerts: the input exercises too little", exfil, policy)
	}
	for _, tc := range []struct {
		name  string
		list  bool
		procs int
	}{
		{"ask per interface, one cpu", false, 1},
		{"list in place, one cpu", true, 1},
		{"list in place, policy beside", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(contextual(t, tc.list, tc.procs), want); diff != "" {
				t.Errorf("alerts (-contextual +reference):\n%s", diff)
			}
		})
	}
}

// withNATLegs adds, after each task's record to the internet, the two legs
// the demo network's NAT instance logs for it (task to NAT, NAT to the
// internet): in a file of many interfaces, as S3 delivers them, the NAT's
// records interleave with the others.
func withNATLegs(text []byte) []byte {
	var out []byte
	for _, l := range strings.SplitAfter(string(text), "\n") {
		out = append(out, l...)
		f := strings.Fields(l)
		if len(f) != synth.DetectFormat.Len() || !strings.HasPrefix(f[3], "10.0.1") || strings.HasPrefix(f[4], "10.") || f[21] != "egress" {
			continue
		}
		for _, leg := range [][2]string{{f[3], "10.0.1.10"}, {"10.0.1.10", f[4]}} {
			g := slices.Clone(f)
			g[2], g[3], g[4] = "eni-0a1b2c3d4e5f600aa", leg[0], leg[1]
			out = append(out, strings.Join(g, " ")+"\n"...)
		}
	}
	return out
}

// TestContextualNATInterleaved: with the NAT's records interleaved with the
// others (a quarter of the records), the engine behind Contextual leaves
// them out in place: one engine batch per batch (not one per run of other
// records between two of the NAT's), and the alerts of an engine given each
// batch with those records removed.
func TestContextualNATInterleaved(t *testing.T) {
	demo, _ := synth.Scenario(4, synth.DetectFormat, day, 24*time.Hour, 20_000, day.Add(14*time.Hour))
	text := withNATLegs(demo)
	now := func() time.Time { return day.Add(48 * time.Hour) }
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	snaps := one{inventory.NewIndex(inventory.DemoSnapshot(day))}
	each := func(fn func(id string, rec arrow.RecordBatch) []detect.Alert) ([]detect.Alert, int) {
		rd := parse.NewReader(bytes.NewReader(text), parse.Options{Format: synth.DetectFormat, BatchSize: 4096})
		defer rd.Release()
		var alerts []detect.Alert
		k := 0
		for ; rd.Next(); k++ {
			alerts = append(alerts, fn(fmt.Sprint("b", k), rd.RecordBatch())...)
		}
		if err := rd.Err(); err != nil {
			t.Fatal(err)
		}
		return alerts, k
	}
	r := resolve.New(snaps, resolve.Options{})
	eng, err := detect.New(cfg, detect.NewMemoryState(), now, detect.WithResolver(r))
	if err != nil {
		t.Fatal(err)
	}
	c := detect.NewContextual(eng, r.NAT, nil).WithNATList(r.NATInterfaces)
	got, batches := each(func(id string, rec arrow.RecordBatch) []detect.Alert {
		as, err := c.Process(context.Background(), id, rec)
		if err != nil {
			t.Fatal(err)
		}
		return as
	})
	sum, skipped := c.Summary()
	if skipped < 4000 || sum.Batches != int64(batches) {
		t.Errorf("%d NAT records left out in %d engine batches for %d batches", skipped, sum.Batches, batches)
	}

	// The reference: each batch without the NAT's records, whole.
	ref, err := detect.New(cfg, detect.NewMemoryState(), now, detect.WithResolver(r))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := each(func(id string, rec arrow.RecordBatch) []detect.Alert {
		runs, n := detect.SkipNAT(rec, r.NAT)
		defer func() {
			for _, x := range runs {
				x.Release()
			}
		}()
		if n > 0 {
			id += "#nat"
		}
		cols := make([]arrow.Array, rec.NumCols())
		for j := range cols {
			parts := make([]arrow.Array, len(runs))
			for k, x := range runs {
				parts[k] = x.Column(j)
			}
			col, err := array.Concatenate(parts, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			defer col.Release()
			cols[j] = col
		}
		whole := array.NewRecordBatch(rec.Schema(), cols, -1)
		defer whole.Release()
		as, err := ref.Process(context.Background(), id, whole)
		if err != nil {
			t.Fatal(err)
		}
		return as
	})
	if len(want) == 0 {
		t.Fatal("no alerts: the input exercises too little")
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("alerts (-contextual +reference):\n%s", diff)
	}
	if rs := ref.Summary(); rs.Records != sum.Records {
		t.Errorf("%d records judged, the reference %d", sum.Records, rs.Records)
	}
}
