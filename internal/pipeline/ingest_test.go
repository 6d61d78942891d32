package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/store"
)

func gzipped(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// lakeCount counts the lake's records with Scan (every record once).
func lakeCount(t *testing.T, l *store.Lake) int64 {
	t.Helper()
	var n int64
	if err := l.Scan(t.Context(), nil, func(rec arrow.RecordBatch) error { n += rec.NumRows(); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// ingestDir stores every input under dir and returns the results.
func ingestDir(t *testing.T, p *Pipeline, args ...string) []InputResult {
	t.Helper()
	var c source.Config
	ins, probs, err := c.Expand(t.Context(), args)
	if err != nil || len(probs) > 0 {
		t.Fatal(err, probs)
	}
	var out []InputResult
	if err := p.Ingest(t.Context(), ins, InputOptions{Workers: 1}, func(r InputResult) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIngestOnce: each input is stored once whatever its path; the same
// run again stores nothing; an input rejected half-way (a truncated gzip
// after good lines) leaves nothing while the inputs around it are kept;
// the detectors see the stored records.
func TestIngestOnce(t *testing.T) {
	in := t.TempDir()
	text := testText() // 24 records
	z := gzipped(text)
	os.MkdirAll(filepath.Join(in, "a"), 0o755)
	os.MkdirAll(filepath.Join(in, "b"), 0o755)
	os.WriteFile(filepath.Join(in, "a", "flows.log.gz"), z, 0o644)
	os.WriteFile(filepath.Join(in, "b", "copy.gz"), z, 0o644)                                         // same content, another path
	os.WriteFile(filepath.Join(in, "b", "cut.log.gz"), gzipped(bytes.Repeat(text, 50))[:2000], 0o644) // cut short
	os.WriteFile(filepath.Join(in, "other.log"), []byte(strings.ReplaceAll(string(text), "10.0.11.50", "10.0.11.51")), 0o644)

	lake := openLake(t, t.TempDir())
	snk := &sink{}
	p := newPipeline(t, lake, snk, nil)
	p.cfg.Lake, p.cfg.Sources = nil, LakeSources(lake)

	res := ingestDir(t, p, in)
	got := map[string]string{}
	for _, r := range res {
		rel, _ := filepath.Rel(in, r.Info.Name)
		switch {
		case r.Err != nil:
			got[rel] = "rejected"
			if !strings.Contains(r.Err.Error(), "cut.log.gz") {
				t.Errorf("error does not name the file: %v", r.Err)
			}
		case r.Skipped != "":
			got[rel] = r.Skipped
		default:
			got[rel] = "stored"
		}
	}
	want := map[string]string{"a/flows.log.gz": "stored", "b/copy.gz": SkipStored, "b/cut.log.gz": "rejected", "other.log": "stored"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("results (-got +want):\n%s", diff)
	}
	if n := lakeCount(t, lake); n != 48 {
		t.Errorf("lake holds %d records, want 48 (two inputs of 24)", n)
	}
	if len(snk.got) == 0 {
		t.Error("no alerts from the stored inputs")
	}
	alerts := len(snk.got)

	// Again, and the copy alone: nothing new, no alert twice.
	for _, r := range ingestDir(t, p, in, filepath.Join(in, "b", "copy.gz")) {
		if r.Err == nil && r.Skipped != SkipStored {
			t.Errorf("%s stored again", r.Info.Name)
		}
	}
	if n := lakeCount(t, lake); n != 48 {
		t.Errorf("after re-ingest the lake holds %d records, want 48", n)
	}
	if len(snk.got) != alerts {
		t.Errorf("re-ingest sent %d more alerts", len(snk.got)-alerts)
	}
	srcs, err := lake.Sources(t.Context())
	if err != nil || len(srcs) != 2 {
		t.Fatalf("sources %+v %v, want 2", srcs, err)
	}
}

// failingSources is a lake whose writes fail after some batches.
type failingSources struct{ after int }

type failingWriter struct {
	n, after        int
	aborted, commit bool
}

func (f *failingSources) Begin(context.Context, source.Info) (SourceWriter, error) {
	return &failingWriter{after: f.after}, nil
}

func (w *failingWriter) Write(context.Context, arrow.RecordBatch) error {
	if w.n++; w.n > w.after {
		return errors.New("disk full")
	}
	return nil
}
func (w *failingWriter) Commit(context.Context) (int, int64, error) {
	w.commit = true
	return 0, 0, nil
}
func (w *failingWriter) Abort(context.Context) error { w.aborted = true; return nil }

// TestIngestLakeFails: a lake write failing half-way through an input
// stops the read, aborts the source and reports a store-stage error.
func TestIngestLakeFails(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big.log"), bytes.Repeat(testText(), 2000), 0o644) // 48,000 records
	var w *failingWriter
	lake := &failingSources{after: 1}
	p, err := New(Config{Sources: sourcesFunc(func(ctx context.Context, info source.Info) (SourceWriter, error) {
		sw, err := lake.Begin(ctx, info)
		w = sw.(*failingWriter)
		return sw, err
	}), BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	res := ingestDir(t, p, dir)
	var pe *Error
	if len(res) != 1 || !errors.As(res[0].Err, &pe) || pe.Stage != StageStore || !strings.Contains(pe.Error(), "disk full") {
		t.Fatalf("results %+v", res)
	}
	if !w.aborted || w.commit {
		t.Errorf("writer aborted %v, committed %v; want aborted only", w.aborted, w.commit)
	}
	if res[0].Stats.Records >= 48000 {
		t.Errorf("read all %d records after the lake failed", res[0].Stats.Records)
	}
}

type sourcesFunc func(context.Context, source.Info) (SourceWriter, error)

func (f sourcesFunc) Begin(ctx context.Context, info source.Info) (SourceWriter, error) {
	return f(ctx, info)
}
