package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/collect/collecttest"
	"github.com/flowq/flowq/internal/synth"
)

// TestCollectorConfig: the collector's variables, their defaults and their
// errors, which name the variable.
func TestCollectorConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{envLake: "s3://b/p"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := loadConfig(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivery != "" || c.CollectInterval != time.Hour || c.Settle != 15*time.Minute || c.Lateness != 2*time.Hour || c.InventoryRefresh != 15*time.Minute {
		t.Errorf("defaults: delivery %q, interval %v, settle %v, lateness %v, inventory %v", c.Delivery, c.CollectInterval, c.Settle, c.Lateness, c.InventoryRefresh)
	}
	c, err = loadConfig(env(envDelivery, "s3://flows/AWSLogs/123456789012/vpcflowlogs/us-east-1/", envCollectMinutes, "10",
		envSettleMinutes, "5", envLateMinutes, "60", envInventoryMins, "5"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CollectInterval != 10*time.Minute || c.Settle != 5*time.Minute || c.Lateness != time.Hour || c.InventoryRefresh != 5*time.Minute {
		t.Errorf("set: interval %v, settle %v, lateness %v, inventory %v", c.CollectInterval, c.Settle, c.Lateness, c.InventoryRefresh)
	}
	for _, tc := range []struct{ name, value, want string }{
		{envInventoryMins, "0", `FLOWQ_INVENTORY_MINUTES: "0": want whole minutes from 1 to 1440`},
		{envInventoryMins, "abc", `FLOWQ_INVENTORY_MINUTES: "abc"`},
		{envInventoryMins, "1441", `FLOWQ_INVENTORY_MINUTES: "1441"`},
		{envCollectMinutes, "7", "FLOWQ_COLLECT_MINUTES: collect interval 7m0s: want a divisor of 60 minutes"},
		{envCollectMinutes, "300", "FLOWQ_COLLECT_MINUTES: collect interval 5h0m0s"},
		{envSettleMinutes, "-1", `FLOWQ_SETTLE_MINUTES: "-1"`},
		{envDelivery, "flows/prefix", `FLOWQ_DELIVERY: delivery location "flows/prefix": want s3://bucket/prefix`},
	} {
		kv := []string{tc.name, tc.value}
		if tc.name != envDelivery {
			kv = append(kv, envDelivery, "s3://flows/")
		}
		if _, err := loadConfig(env(kv...)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: error %v, want %q", tc.name, tc.value, err, tc.want)
		}
	}
}

// TestScheduledCollection drives the function with EventBridge's scheduled
// event over an hour AWS delivered to S3: every record stored once, the
// incidents' alerts published; a second run (an operator's
// {"flowq":"collect"}) finds nothing new. Without FLOWQ_DELIVERY a
// scheduled event fails with an error that says what to set.
func TestScheduledCollection(t *testing.T) {
	f := newFixture(t, map[string]string{envDelivery: "s3://" + lakeBucket + "/delivery/", envLogFormat: synth.DetectFormat.String()})
	hour := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour) // both slots it spans have settled
	text, incidents := synth.Scenario(7, synth.DetectFormat, hour, time.Hour, 3000, hour.Add(5*time.Minute))
	objs, err := collecttest.Deliver(text, synth.DetectFormat, "delivery/")
	if err != nil {
		t.Fatal(err)
	}
	if err := collecttest.Upload(t.Context(), f.s3, lakeBucket, objs); err != nil {
		t.Fatal(err)
	}
	scheduled := []byte(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",` +
		`"account":"123456789012","time":"2026-11-20T15:16:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/collect"],"detail":{}}`)
	s, err := f.invoke(t, scheduled)
	if err != nil {
		t.Fatal(err)
	}
	lines := int64(bytes.Count(text, []byte{'\n'})) - 1 // the header
	if s.Input != inputCollect || s.Delivered != len(objs) || s.Records != lines || s.Alerts == 0 || s.Objects == 0 {
		t.Errorf("summary %+v: want input collect, %d delivered objects, %d records, alerts, lake objects", s, len(objs), lines)
	}
	var want []string
	for _, in := range incidents {
		for _, a := range in.Alerts {
			want = append(want, a.Detector+" "+a.Src+" "+a.Dst)
		}
	}
	if d := cmp.Diff(f.alerts(t), sorted(want)); d != "" {
		t.Errorf("published alerts (-got +want):\n%s", d)
	}
	s, err = f.invoke(t, []byte(`{"flowq":"collect"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Delivered != 0 || s.Records != 0 || s.Alerts != 0 {
		t.Errorf("second run %+v: want nothing new", s)
	}
	if m := f.metrics.String(); !strings.Contains(m, `"Input":"collect"`) || !strings.Contains(m, `"LateObjects":0`) || !strings.Contains(m, `"Skipped":0`) {
		t.Errorf("EMF lines lack the collector's: %s", m)
	}
	f.raw.collector = nil
	if _, err := f.invoke(t, scheduled); !errors.Is(err, errNoDelivery) {
		t.Errorf("scheduled event without a delivery location: %v, want %v", err, errNoDelivery)
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
