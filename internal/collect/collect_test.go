package collect_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/collect"
	"github.com/flowq/flowq/internal/collect/collecttest"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/lakescan"
	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// hour0 is the hour the tests' traffic starts in.
var hour0 = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)

// scenario is an hour of the demo's traffic from hour0 with the four
// incidents, its header line dropped.
func scenario() []byte {
	text, _ := synth.Scenario(7, synth.DetectFormat, hour0, time.Hour, 3000, hour0.Add(5*time.Minute))
	_, text, _ = bytes.Cut(text, []byte{'\n'})
	return text
}

// wantAlerts are the incidents' alerts, "detector src dst".
func wantAlerts() []string {
	var out []string
	for _, in := range synth.Incidents(hour0) {
		for _, a := range in.Alerts {
			out = append(out, a.Detector+" "+a.Src+" "+a.Dst)
		}
	}
	slices.Sort(out)
	return out
}

// keys drops the ids of published alerts, and the repeats.
func keys(published []string) []string {
	var out []string
	for _, p := range published {
		_, k, _ := strings.Cut(p, " ")
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestLateObject: an object that arrives after its slot was done is
// ingested once, as a late batch of its slot, and its records are detected
// (the port scan is in it).
func TestLateObject(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	text := scenario()
	held, first := e.deliverHolding(t, text)
	e.setNow(hour0.Add(time.Hour + 20*time.Minute))
	res, err := e.collector(t, faults{}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	inSlot := 0 // the objects named before the slot's end + Settle hold its records
	for _, o := range first {
		if o.At.Before(hour0.Add(time.Hour + collect.DefaultSettle)) {
			inSlot++
		}
	}
	if res.Objects != inSlot || res.LateObjects != 0 {
		t.Fatalf("first run: %d objects, %d late; want %d, 0", res.Objects, res.LateObjects, inSlot)
	}
	if got := keys(e.published(t)); slices.Contains(got, "portscan "+synth.ECS[3].IP+" "+synth.RDS[0].IP) {
		t.Fatalf("port scan alerted without its records: %v", got)
	}
	if err := collecttest.Upload(t.Context(), e.s3, e.bucket, held); err != nil {
		t.Fatal(err)
	}
	e.setNow(hour0.Add(2*time.Hour + 20*time.Minute))
	for i := range 2 { // the second run finds nothing new
		res, err = e.collector(t, faults{}).Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// The first run takes the late object and the next slot's.
		if want := 1 - i; res.LateObjects != want || (i == 1 && res.Objects != 0) {
			t.Errorf("run %d after the late object: %d objects, %d late; want %d late", i+1, res.Objects, res.LateObjects, want)
		}
	}
	if got, want := e.lakeRecords(t), lines(text); got != want {
		t.Errorf("lake holds %d records, the delivered text %d lines", got, want)
	}
	if got := keys(e.published(t)); !slices.Contains(got, "portscan "+synth.ECS[3].IP+" "+synth.RDS[0].IP) {
		t.Errorf("late port scan not alerted: %v", got)
	}
	if !strings.Contains(e.logs.String(), "late batch") || !strings.Contains(e.logs.String(), held[0].Key) {
		t.Errorf("late object not logged by name:\n%s", e.logs.String())
	}
}

// TestSplitTransfer: 1.2 MB sent from 14:55 to 15:06, in two slots
// collected by two runs, raises one exfiltration alert (the window
// guarantee holds across runs: the counters live in the checkpoint).
func TestSplitTransfer(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	var text []byte
	for i := range 12 { // 100 KB a minute, 14:55 to 15:06
		at := hour0.Add(55*time.Minute + time.Duration(i)*time.Minute).Unix()
		f := synth.Flow{Version: 5, Account: synth.Account, ENI: synth.ECS[0].ENI, Src: synth.ECS[0].IP, Dst: "198.51.100.200",
			SrcPort: 40000, DstPort: 443, Protocol: 6, Packets: 80, Bytes: 100_000, Start: at, End: at + 59, Action: "ACCEPT",
			Status: "OK", VPC: "vpc-0flowq0seed0001", Subnet: synth.ECS[0].Subnet, Type: "IPv4", PktSrc: synth.ECS[0].IP,
			PktDst: "198.51.100.200", Direction: "egress"}
		text = append(synth.AppendLine(text, synth.DetectFormat, &f), '\n')
	}
	e.deliver(t, text)
	var alerts []detect.Alert
	for _, at := range []time.Time{hour0.Add(time.Hour + 20*time.Minute), hour0.Add(2*time.Hour + 20*time.Minute)} {
		e.setNow(at)
		res, err := e.collector(t, faults{}).Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// The first run reads every object and stores 14:00's records;
		// the second stores 15:00's, held in the checkpoint.
		if res.Records == 0 {
			t.Fatalf("run at %v stored nothing: %+v", at, res)
		}
		alerts = append(alerts, res.Alerts...)
	}
	if len(alerts) != 1 || alerts[0].Detector != detect.Exfiltration || alerts[0].Bytes < 1_000_000 {
		t.Fatalf("alerts %+v, want one exfiltration over 1 MB", alerts)
	}
	if got := e.published(t); len(got) != 1 {
		t.Errorf("published %v, want one alert", got)
	}
}

// TestSameAsDetect: the detectors run over the lake the collector wrote
// (lakescan.Run, flowq detect's path, with the same configuration) raise
// the same alerts, ids included, as the collector did.
func TestSameAsDetect(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	e.deliver(t, scenario())
	e.setNow(hour0.Add(time.Hour + 20*time.Minute))
	res, err := e.collector(t, faults{}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var collected []string
	for _, a := range res.Alerts {
		collected = append(collected, a.ID+" "+a.Detector+" "+a.Src+" "+a.Dst)
	}
	slices.Sort(collected)
	cfg := detect.DefaultConfig()
	cfg.ClaimLease = 0
	eng, err := detect.New(cfg, detect.NewMemoryState(), e.clock)
	if err != nil {
		t.Fatal(err)
	}
	var scanned []string
	_, err = lakescan.Run(t.Context(), e.lake, store.TimeRange{}, eng, func(_ context.Context, as []detect.Alert) error {
		for _, a := range as {
			scanned = append(scanned, a.ID+" "+a.Detector+" "+a.Src+" "+a.Dst)
		}
		return nil
	}, lakescan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(scanned)
	if d := cmp.Diff(collected, scanned); d != "" {
		t.Errorf("collector vs detect over its lake (-collector +detect):\n%s", d)
	}
	if len(collected) != len(wantAlerts()) {
		t.Errorf("collector raised %d alerts, want %d", len(collected), len(wantAlerts()))
	}
}

// TestBadObjects: a binary object and a gzip cut short in a slot are
// skipped with an error naming them; the slot's good objects are stored
// and detected, and the run succeeds.
func TestBadObjects(t *testing.T) {
	srv := motoserver.Start(t)
	for _, stream := range []int64{0, 1} {
		t.Run(fmt.Sprint("stream ", stream), func(t *testing.T) { badObjects(t, srv, stream) })
	}
}

func badObjects(t *testing.T, srv *motoserver.Server, stream int64) {
	e := newEnv(t, srv)
	text := scenario()
	objs := e.deliver(t, text)
	dir := collecttest.RegionDir("") + hour0.Format("2006/01/02/")
	bin := dir + collecttest.Account + "_vpcflowlogs_" + collecttest.Region + "_fl-0123456789abcdef0_20261120T1410Z_bad00001.log.gz"
	cut := dir + collecttest.Account + "_vpcflowlogs_" + collecttest.Region + "_fl-0123456789abcdef0_20261120T1420Z_bad00002.log.gz"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(synth.DetectFormat.Header() + "\n"))
	zw.Write(text[:len(text)/3])
	zw.Close()
	for key, body := range map[string][]byte{
		bin: append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, bytes.Repeat([]byte{0, 0xfe, 0x13, 0x88}, 4096)...),
		cut: gz.Bytes()[:gz.Len()/2],
	} {
		if _, err := e.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	e.setNow(hour0.Add(2*time.Hour + 20*time.Minute)) // both slots settled
	res, err := e.collector(t, faults{stream: stream}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 2 || res.Objects != len(objs) {
		t.Errorf("skipped %d, ingested %d objects; want 2 and %d", res.Skipped, res.Objects, len(objs))
	}
	if got, want := e.lakeRecords(t), lines(text); got != want {
		t.Errorf("lake holds %d records, the good objects %d lines", got, want)
	}
	logs := e.logs.String()
	for _, k := range []string{bin, cut} {
		if !strings.Contains(logs, k) {
			t.Errorf("bad object %s not named in the log:\n%s", k, logs)
		}
	}
	if d := cmp.Diff(keys(e.published(t)), wantAlerts()); d != "" {
		t.Errorf("published alerts (-got +want):\n%s", d)
	}
}

// TestPerHourPartitions: a flow log with hourly folders (PerHourPartition)
// is collected through the same day listing.
func TestPerHourPartitions(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	text := scenario()
	objs, err := collecttest.Deliver(text, synth.DetectFormat, "")
	if err != nil {
		t.Fatal(err)
	}
	objs = collecttest.PerHour(objs)
	if !strings.Contains(objs[0].Key, "/2026/11/20/14/") {
		t.Fatalf("key %s has no hour folder", objs[0].Key)
	}
	if err := collecttest.Upload(t.Context(), e.s3, e.bucket, objs); err != nil {
		t.Fatal(err)
	}
	e.setNow(hour0.Add(2*time.Hour + 20*time.Minute))
	res, err := e.collector(t, faults{}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != len(objs) {
		t.Errorf("ingested %d objects, delivered %d", res.Objects, len(objs))
	}
	if got, want := e.lakeRecords(t), lines(text); got != want {
		t.Errorf("lake holds %d records, the delivered text %d lines", got, want)
	}
	if d := cmp.Diff(keys(e.published(t)), wantAlerts()); d != "" {
		t.Errorf("published alerts (-got +want):\n%s", d)
	}
}

// TestScenarioConfig: with the scenario's tuned detection configuration
// (testdata/scenario/detect.yaml, as FLOWQ_CONFIG), three hourly runs over
// its flows delivered to S3 publish exactly the alerts flowq detect
// --config raises over the same flows (expected-config.jsonl, which
// cmd/flowq's TestDetectScenarioConfig checks against flowq detect).
func TestScenarioConfig(t *testing.T) {
	doc, err := os.ReadFile("../../testdata/scenario/detect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := detectconfig.Parse("detect.yaml", doc)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile("../../testdata/scenario/flows.log")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../testdata/scenario/expected-config.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var wantIDs []string
	for _, l := range bytes.Split(bytes.TrimSpace(want), []byte{'\n'}) {
		var a detect.Alert
		if err := json.Unmarshal(l, &a); err != nil {
			t.Fatal(err)
		}
		wantIDs = append(wantIDs, a.ID+" "+a.Detector+" "+a.Src+" "+a.Dst)
	}
	slices.Sort(wantIDs)
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	e.deliver(t, text)
	nine := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for h := 1; h <= 3; h++ {
		e.setNow(nine.Add(time.Duration(h)*time.Hour + 16*time.Minute))
		if _, err := e.collector(t, faults{config: &cfg}).Run(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := e.lakeRecords(t), lines(text); got != want {
		t.Errorf("lake holds %d records, the flows %d lines", got, want)
	}
	if d := cmp.Diff(e.published(t), wantIDs); d != "" {
		t.Errorf("collector vs flowq detect --config (-collector +detect):\n%s", d)
	}
}

// TestObjectGoneAfterListing: an object deleted and one replaced between
// the listing and the read are skipped by name; the run succeeds, and the
// replaced object (a new ETag) is ingested by the next run, as a late
// batch.
func TestObjectGoneAfterListing(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	objs := e.deliver(t, scenario())
	gone, changed := objs[2], objs[3]
	hook := func(step string) error {
		if step != collect.StepList {
			return nil
		}
		if _, err := e.s3.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(gone.Key)}); err != nil {
			return err
		}
		// The same records, compressed again: a new ETag.
		zr, err := gzip.NewReader(bytes.NewReader(changed.Body))
		if err != nil {
			return err
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Name = "replaced"
		zw.Write(plain)
		zw.Close()
		return collecttest.Upload(t.Context(), e.s3, e.bucket, []collecttest.Object{{Key: changed.Key, Body: gz.Bytes()}})
	}
	e.setNow(hour0.Add(2*time.Hour + 20*time.Minute))
	res, err := e.collector(t, faults{hook: hook}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 2 || res.Objects != len(objs)-2 {
		t.Errorf("skipped %d, ingested %d; want 2 and %d", res.Skipped, res.Objects, len(objs)-2)
	}
	for _, k := range []string{gone.Key, changed.Key} {
		if !strings.Contains(e.logs.String(), k) {
			t.Errorf("object %s not named in the log", k)
		}
	}
	res, err = e.collector(t, faults{}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != 1 || res.LateObjects != 1 {
		t.Errorf("next run: %d objects, %d late; want the replaced one, late", res.Objects, res.LateObjects)
	}
}

// TestOneLakeWritePerRun: a steady hourly run writes ONE lake object
// (the cost of a run is mostly its requests): a slot is the records that
// start in it, those of the next slot read with it wait in the checkpoint.
// Over three hours of traffic, the lake's records per hour equal the
// text's (counted from the raw lines), and every line is stored once.
func TestOneLakeWritePerRun(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	text, _ := synth.Scenario(7, synth.DetectFormat, hour0, 3*time.Hour, 6000, hour0.Add(65*time.Minute))
	_, text, _ = bytes.Cut(text, []byte{'\n'})
	e.deliver(t, text)
	want := startHours(text)
	for i := range 4 { // 15:16 stores 14:00 ... 18:16 stores 17:00
		e.setNow(hour0.Add(time.Duration(i+1)*time.Hour + collect.DefaultSettle + time.Minute))
		res, err := e.collector(t, faults{}).Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		slot := hour0.Add(time.Duration(i) * time.Hour).Unix()
		wantObjects := min(want[slot], 1)
		if res.LakeObjects != int(wantObjects) || res.Records != want[slot] || res.LateObjects != 0 {
			t.Errorf("run %d: %d lake objects, %d records, %d late objects; want %d, %d, 0", i+1, res.LakeObjects, res.Records, res.LateObjects,
				wantObjects, want[slot])
		}
	}
	got := map[int64]int64{}
	err := e.lake.Scan(t.Context(), nil, func(rec arrow.RecordBatch) error {
		col := rec.Column(rec.Schema().FieldIndices(parse.ColStart)[0]).(*array.Int64)
		for _, v := range col.Int64Values() {
			got[v-v%3600]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("lake records by start hour (-lake +text):\n%s", d)
	}
	if d := cmp.Diff(keys(e.published(t)), wantAlerts()); d != "" {
		t.Errorf("published alerts (-got +want):\n%s", d)
	}
}
