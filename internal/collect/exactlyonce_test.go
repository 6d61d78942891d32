package collect_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/collect"
	"github.com/flowq/flowq/internal/collect/collecttest"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

var errCrash = errors.New("injected crash")

// TestExactlyOnce crashes a run between every pair of its steps, then
// runs again as a new instance would: the lake holds each delivered record
// once (counted against the text's lines, not the parser) and each alert
// is published once, with the same id. A crash after publishing and before
// the acknowledgement publishes again with the same id (at least once: the
// subscribers dedupe on it); every other crash point publishes once. Both
// ways of storing objects are tried: a slot's one batch, and each object
// streamed on its own (objects over Config.StreamBytes).
func TestExactlyOnce(t *testing.T) {
	srv := motoserver.Start(t)
	text := scenario()
	crashAt := func(step string) func(string) error {
		return func(s string) error {
			if s == step {
				return errCrash
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name    string
		f       faults
		twiceOK bool
	}{
		{"after reading the checkpoint", faults{hook: crashAt(collect.StepRead)}, false},
		{"after listing", faults{hook: crashAt(collect.StepList)}, false},
		{"after the lake write", faults{afterLakeWrite: true}, false},
		{"after detecting, before publishing", faults{beforePublish: true}, false},
		{"after publishing, before the ack", faults{afterPublish: true}, true},
		{"after the ack, before the checkpoint", faults{hook: crashAt(collect.StepSlot)}, false},
		{"after the checkpoint", faults{hook: crashAt(collect.StepWrite)}, false},
	} {
		for _, mode := range []struct {
			name   string
			stream int64
		}{{"slot batch", 0}, {"streamed objects", 1}} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				tc.f.stream = mode.stream
				e := newEnv(t, srv)
				next := 0 // objects named after the slot's end + Settle
				for _, o := range e.deliver(t, text) {
					if !o.At.Before(hour0.Add(time.Hour + collect.DefaultSettle)) {
						next++
					}
				}
				e.setNow(hour0.Add(time.Hour + 20*time.Minute)) // the hour's slot has settled
				_, err := e.collector(t, tc.f).Run(t.Context())
				if err == nil {
					t.Fatal("the injected crash did not stop the run")
				}
				res, err := e.collector(t, faults{stream: mode.stream}).Run(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				// And a third run: only the objects named later, and the
				// records of 15:00 the second held; no alert again.
				e.setNow(hour0.Add(2*time.Hour + 20*time.Minute))
				again, err := e.collector(t, faults{stream: mode.stream}).Run(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if again.Objects != next || len(again.Alerts) != 0 {
					t.Errorf("the next slot's run ingested %d objects (want %d), raised %d alerts (want 0)", again.Objects, next, len(again.Alerts))
				}
				if want := startHours(text)[hour0.Add(time.Hour).Unix()]; mode.stream == 0 && (res.Held != want || again.Records != want) {
					t.Errorf("held %d records of 15:00, the next run stored %d; the text has %d", res.Held, again.Records, want)
				}
				if got, want := e.lakeRecords(t), lines(text); got != want {
					t.Errorf("lake holds %d records, the delivered text %d lines", got, want)
				}
				pub := e.published(t)
				if d := cmp.Diff(keys(pub), wantAlerts()); d != "" {
					t.Errorf("published alerts (-got +want):\n%s", d)
				}
				if n, want := len(pub), len(wantAlerts()); n != want && !(tc.twiceOK && n <= 2*want) {
					t.Errorf("%d messages for %d alerts: %v", n, want, pub)
				}
				if tc.name == "after the checkpoint" && (res.Objects != 0 || len(res.Alerts) != 0) {
					t.Errorf("the run after a written checkpoint redid %d objects, %d alerts", res.Objects, len(res.Alerts))
				}
				if mode.stream > 0 && tc.name != "after the checkpoint" && res.Streamed != res.Objects {
					t.Errorf("%d of %d objects streamed, want all", res.Streamed, res.Objects)
				}
			})
		}
	}
}

// TestRetryWithMoreObjects: a run fails after its lake write; before the
// retry, another object of the same slot arrives. The retry writes the
// slot's batch again with it: the lake holds each line once.
func TestRetryWithMoreObjects(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	text := scenario()
	held, first := e.deliverHolding(t, text)
	e.setNow(hour0.Add(2*time.Hour + 20*time.Minute))
	if _, err := e.collector(t, faults{afterLakeWrite: true}).Run(t.Context()); err == nil {
		t.Fatal("the injected crash did not stop the run")
	}
	if err := collecttest.Upload(t.Context(), e.s3, e.bucket, held); err != nil {
		t.Fatal(err)
	}
	res, err := e.collector(t, faults{}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := len(first) + len(held); res.Objects != want || res.LateObjects != 0 {
		t.Errorf("retry ingested %d objects (%d late), want %d (0 late)", res.Objects, res.LateObjects, want)
	}
	if got, want := e.lakeRecords(t), lines(text); got != want {
		t.Errorf("lake holds %d records, the delivered text %d lines", got, want)
	}
	if d := cmp.Diff(keys(e.published(t)), wantAlerts()); d != "" {
		t.Errorf("published alerts (-got +want):\n%s", d)
	}
}

// TestCrashMidBackfill: a run of three slots checkpoints between them;
// it fails after its second slot (after the checkpoint of the first).
// The retry goes on from the first slot's checkpoint: it redoes the
// second slot under the same batch id, then the third; each line is
// stored once and each alert published once.
func TestCrashMidBackfill(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	text, _ := synth.Scenario(7, synth.DetectFormat, hour0, 3*time.Hour, 4000, hour0.Add(65*time.Minute))
	e.deliver(t, text)
	slotsDone := 0
	crash := func(step string) error {
		if step == collect.StepSlot {
			if slotsDone++; slotsDone == 2 {
				return errCrash
			}
		}
		return nil
	}
	e.setNow(hour0.Add(4*time.Hour + 20*time.Minute)) // the three hours and the spill into the fourth have settled
	if _, err := e.collector(t, faults{hook: crash, every: time.Nanosecond}).Run(t.Context()); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the injected crash", err)
	}
	first := e.published(t)
	res, err := e.collector(t, faults{every: time.Nanosecond}).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoint after the first hour's objects holds 14:00's records:
	// the retry stores every hour's records, one batch each.
	if want := len(startHours(text)); res.Batches != want {
		t.Errorf("the retry wrote %d batches, want %d (it went on from the first objects' checkpoint)", res.Batches, want)
	}
	if got, want := e.lakeRecords(t), lines(text); got != want {
		t.Errorf("lake holds %d records, the delivered text %d lines", got, want)
	}
	all := append(first, e.published(t)...)
	if d := cmp.Diff(keys(all), wantAlerts()); d != "" {
		t.Errorf("published alerts (-got +want):\n%s", d)
	}
	if len(all) != len(wantAlerts()) {
		t.Errorf("%d messages for %d alerts: %v", len(all), len(wantAlerts()), all)
	}
}

// TestOverlappingRuns: a run invoked by hand while the scheduled one runs
// (B within A, after A's listing) finds an object A's listing missed and
// stores it as a late batch. A must not then overwrite B's checkpoint with
// its own, which lacks that object: the next run would store it again.
// A's checkpoint write is conditional on the checkpoint it read, so A
// fails; the lake holds every line once and every alert is published once.
func TestOverlappingRuns(t *testing.T) {
	srv := motoserver.Start(t)
	e := newEnv(t, srv)
	text := scenario()
	late, _ := e.deliverHolding(t, text)
	e.setNow(hour0.Add(time.Hour + 20*time.Minute))
	if _, err := e.collector(t, faults{}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.setNow(hour0.Add(2*time.Hour + 20*time.Minute))
	var inner error
	overlap := func(step string) error {
		if step != collect.StepList {
			return nil
		}
		if err := collecttest.Upload(t.Context(), e.s3, e.bucket, late); err != nil {
			return err
		}
		res, err := e.collector(t, faults{}).Run(t.Context())
		if err == nil && res.LateObjects != 1 {
			err = fmt.Errorf("the run by hand found %d late objects, want 1", res.LateObjects)
		}
		inner = err
		return nil
	}
	_, err := e.collector(t, faults{hook: overlap}).Run(t.Context())
	if inner != nil {
		t.Fatal(inner)
	}
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the overlapped run: %v, want it to fail on the checkpoint (store.ErrConflict)", err)
	}
	if _, err := e.collector(t, faults{}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := e.lakeRecords(t), lines(text); got != want {
		t.Errorf("lake holds %d records, the delivered text %d lines", got, want)
	}
	pub := e.published(t)
	if d := cmp.Diff(keys(pub), wantAlerts()); d != "" || len(pub) != len(wantAlerts()) {
		t.Errorf("published %v; alerts (-got +want):\n%s", pub, d)
	}
}
