package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/store"
)

// now is inside the window of the test records.
var now = time.Unix(1700000000, 0).UTC()

func line(src, dst string, dport int, bytes int64, start int64, action string) string {
	return fmt.Sprintf("2 123456789012 eni-0a1b2c3d4e5f60011 %s %s 40000 %d 6 10 %d %d %d %s OK", src, dst, dport, bytes, start, start+30, action)
}

// testText has 3 × 600 kB from 10.0.11.50 to 203.0.113.77 (an exfiltration
// over 1 MB), one REJECT from a watched host and ordinary traffic.
func testText() []byte {
	var b strings.Builder
	t := now.Unix() - 600
	for i := range 3 {
		fmt.Fprintln(&b, line("10.0.11.50", "203.0.113.77", 443, 600_000, t+int64(i*60), "ACCEPT"))
	}
	fmt.Fprintln(&b, line("10.0.21.100", "8.8.8.8", 443, 44, t, "REJECT"))
	for i := range 20 {
		fmt.Fprintln(&b, line("203.0.113.5", "10.0.1.25", 443, int64(1000+i), t+int64(i), "ACCEPT"))
	}
	return []byte(b.String())
}

type sink struct {
	got  []detect.Alert
	fail error
}

func (s *sink) Send(_ context.Context, a []detect.Alert) error {
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, a...)
	return nil
}

type failingLake struct{ err error }

func (l failingLake) Write(context.Context, string, []arrow.RecordBatch) (store.WriteResult, error) {
	return store.WriteResult{}, l.err
}

func newPipeline(t *testing.T, lake Lake, snk Sink, mem memory.Allocator) *Pipeline {
	t.Helper()
	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Lake: lake, Detector: eng, Sink: snk, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openLake(t *testing.T, dir string) *store.Lake {
	t.Helper()
	l, err := store.Open(t.Context(), dir, store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ids(a []detect.Alert) []string {
	out := make([]string, len(a))
	for i := range a {
		out[i] = a[i].Detector + " " + a[i].Src + " " + a[i].Dst + " " + a[i].ID
	}
	slices.Sort(out)
	return out
}

func lakeFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			m[p] = fi.Size()
		}
		return nil
	})
	return m
}

func TestProcess(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	snk := &sink{}
	p := newPipeline(t, openLake(t, dir), snk, mem)
	text := testText()
	res, err := p.Process(t.Context(), Batch{ID: "g/s/1", Source: "g/s", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 24 || res.BadLines != 0 || res.Bytes != int64(len(text)) {
		t.Errorf("got %v, want 24 records of %d bytes", res, len(text))
	}
	if len(res.Objects) == 0 || res.LakeBytes == 0 {
		t.Errorf("no lake objects: %+v", res)
	}
	wantAlerts := []string{"exfiltration 10.0.11.50 203.0.113.77", "reject 10.0.21.100 "}
	var got []string
	for _, a := range snk.got {
		got = append(got, a.Detector+" "+a.Src+" "+a.Dst)
	}
	slices.Sort(got)
	if diff := cmp.Diff(got, wantAlerts); diff != "" {
		t.Errorf("alerts (-got +want)\n%s", diff)
	}
	if diff := cmp.Diff(ids(res.Alerts), ids(snk.got)); diff != "" {
		t.Errorf("result and sink alerts differ (-got +want)\n%s", diff)
	}

	// The same batch again: same lake, no new alert.
	files := lakeFiles(t, dir)
	res2, err := p.Process(t.Context(), Batch{ID: "g/s/1", Source: "g/s", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Alerts) != 0 || len(snk.got) != 2 {
		t.Errorf("replay raised alerts: %v", ids(res2.Alerts))
	}
	if diff := cmp.Diff(lakeFiles(t, dir), files); diff != "" {
		t.Errorf("replay changed the lake (-got +want)\n%s", diff)
	}
}

func TestBadLine(t *testing.T) {
	text := append(testText(), "2 123456789012 eni-1 10.0.0.1 10.0.0.2 notaport 443 6 1 1 1 2 ACCEPT OK\n"...)
	p := newPipeline(t, openLake(t, t.TempDir()), &sink{}, nil)
	res, err := p.Process(t.Context(), Batch{ID: "b", Source: "g/s", Text: text,
		Locate: func(line int64) string { return fmt.Sprintf("event %d", line) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 24 || res.BadLines != 1 || len(res.BadSamples) != 1 {
		t.Fatalf("got %v, samples %q; want 24 records and 1 bad line", res, res.BadSamples)
	}
	if s := res.BadSamples[0]; !strings.Contains(s, "g/s:25") || !strings.Contains(s, "srcport") || !strings.Contains(s, "[event 25]") {
		t.Errorf("sample %q lacks source, line, field or event", s)
	}
}

func TestSampleCap(t *testing.T) {
	var text []byte
	for range 20 {
		text = append(text, "garbage\n"...)
	}
	p := newPipeline(t, openLake(t, t.TempDir()), &sink{}, nil)
	res, err := p.Process(t.Context(), Batch{ID: "b", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if res.BadLines != 20 || len(res.BadSamples) != DefaultBadLineSamples || res.Records != 0 || len(res.Objects) != 0 {
		t.Errorf("got %v with %d samples", res, len(res.BadSamples))
	}
}

// TestRetryConverges: a sink failure fails the batch; the retry delivers the
// same alerts, and the lake ends as after one clean run.
func TestRetryConverges(t *testing.T) {
	dir, cleanDir := t.TempDir(), t.TempDir()
	text := testText()

	clean := &sink{}
	if _, err := newPipeline(t, openLake(t, cleanDir), clean, nil).Process(t.Context(), Batch{ID: "b", Text: text}); err != nil {
		t.Fatal(err)
	}

	snk := &sink{fail: errors.New("sns: unreachable")}
	p := newPipeline(t, openLake(t, dir), snk, nil)
	_, err := p.Process(t.Context(), Batch{ID: "b", Text: text})
	var pe *Error
	if !errors.As(err, &pe) || pe.Stage != StageAlert {
		t.Fatalf("err = %v, want an alert-stage *Error", err)
	}
	snk.fail = nil
	if _, err := p.Process(t.Context(), Batch{ID: "b", Text: text}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(snk.got), ids(clean.got)); diff != "" {
		t.Errorf("alerts after retry (-got +want)\n%s", diff)
	}
	rel := func(m map[string]int64, root string) map[string]int64 {
		out := map[string]int64{}
		for k, v := range m {
			r, _ := filepath.Rel(root, k)
			out[r] = v
		}
		return out
	}
	if diff := cmp.Diff(rel(lakeFiles(t, dir), dir), rel(lakeFiles(t, cleanDir), cleanDir)); diff != "" {
		t.Errorf("lake after retry (-got +want)\n%s", diff)
	}
}

func TestFailures(t *testing.T) {
	t.Run("store", func(t *testing.T) {
		snk := &sink{}
		p := newPipeline(t, failingLake{errors.New("s3: connection refused")}, snk, nil)
		_, err := p.Process(t.Context(), Batch{ID: "b", Text: testText()})
		var pe *Error
		if !errors.As(err, &pe) || pe.Stage != StageStore || len(snk.got) != 0 {
			t.Errorf("err = %v, alerts %d; want a store-stage error and no alert", err, len(snk.got))
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		p := newPipeline(t, openLake(t, t.TempDir()), &sink{}, nil)
		if _, err := p.Process(ctx, Batch{ID: "b", Text: testText()}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("no id", func(t *testing.T) {
		p := newPipeline(t, openLake(t, t.TempDir()), &sink{}, nil)
		if _, err := p.Process(t.Context(), Batch{Text: testText()}); err == nil {
			t.Error("a batch without id was accepted")
		}
	})
	t.Run("no lake", func(t *testing.T) {
		if _, err := New(Config{}); err == nil {
			t.Error("New without a lake succeeded")
		}
	})
}
