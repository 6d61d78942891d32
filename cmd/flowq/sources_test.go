package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/render"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// readmeGlob is the plain-DuckDB query the README gives.
const readmeGlob = "year=*/month=*/day=*/hour=*/*.parquet"

// plainCounts counts the lake's records as readers that know nothing of
// flowq do: DuckDB over the README's glob, and DuckDB over the file set
// Athena reads (every file in a partition directory whose name starts with
// neither _ nor .).
func plainCounts(t *testing.T, lake string) (glob, athena int64) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(src string) int64 {
		var n int64
		if err := db.QueryRow("SELECT count(*) FROM read_parquet(" + src + ", hive_partitioning = true, union_by_name = true)").Scan(&n); err != nil {
			t.Fatalf("duckdb over %s: %v", src, err)
		}
		return n
	}
	var files []string
	filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		hidden := strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")
		if d.IsDir() {
			if p != lake && hidden {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(lake, p)
		if strings.Count(filepath.ToSlash(rel), "/") == 4 && strings.HasPrefix(rel, "year=") && !hidden {
			files = append(files, "'"+p+"'")
		}
		return nil
	})
	if len(files) == 0 {
		return 0, 0
	}
	return count("'" + filepath.Join(lake, readmeGlob) + "'"), count("[" + strings.Join(files, ", ") + "]")
}

// agree fails unless flowq, plain DuckDB and the Athena file set all count
// want records.
func agree(t *testing.T, lake string, want int64, when string) {
	t.Helper()
	got := lakeSums(t, lake).Records
	glob, athena := plainCounts(t, lake)
	if got != want || glob != want || athena != want {
		t.Errorf("%s: flowq counts %d, plain DuckDB %d, the Athena file set %d; want %d", when, got, glob, athena, want)
	}
}

type sourceRow struct {
	ID, Name, Kind string
	Records        int64
}

func listSources(t *testing.T, lake string) []sourceRow {
	t.Helper()
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "sources", "-o", "json")
	if code != 0 {
		t.Fatalf("sources: exit %d: %s", code, errb)
	}
	var rows []sourceRow
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r sourceRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("sources output %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestEveryReaderCountsOnce follows a lake through re-ingests from other
// paths, a corrected re-download, compaction, a Lambda retry of a merged
// batch, a crash in every step of compaction, compacting twice and
// `flowq sources rm`: after each, flowq, plain DuckDB over the README's
// glob and the Athena file set count the same records.
func TestEveryReaderCountsOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	const awsName = "123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T0000Z_1a2b3c4d.log.gz"
	a := synth.Text(31, parse.DefaultFormat(), day, 800, true)
	b := synth.Text(32, parse.DefaultFormat(), day, 600, true)
	cut := a[:len(a)/2]
	cut = cut[:strings.LastIndexByte(string(cut), '\n')+1] // a truncated download, whole lines
	pa := writeFile(t, dir, "dl1/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/"+awsName, gzipped(cut))
	pb := writeFile(t, dir, "in/b.log", b)
	for _, p := range []string{pa, pb} {
		if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", p); code != 0 {
			t.Fatalf("ingest %s: exit %d: %s%s", p, code, out, errb)
		}
	}
	nb := textSums(b).Records
	agree(t, lake, textSums(cut).Records+nb, "first ingest")
	// The same content from other paths: refused, nothing written.
	writeFile(t, dir, "copy/b.log", b)
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "copy")); code != 0 {
		t.Fatalf("ingest copy: exit %d: %s%s", code, out, errb)
	}
	// The corrected re-download: the same AWS object name, whole.
	writeFile(t, dir, "dl2/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/20/"+awsName, gzipped(a))
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", filepath.Join(dir, "dl2")); code != 0 {
		t.Fatalf("ingest re-download: exit %d: %s%s", code, out, errb)
	}
	want := textSums(a).Records + nb
	agree(t, lake, want, "after a copy and a corrected re-download")
	if rows := listSources(t, lake); len(rows) != 2 {
		t.Errorf("sources = %+v, want 2", rows)
	}

	// Lambda batches, compaction, and a retry of a merged batch.
	l, err := store.Open(ctx, lake, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := synth.Text(33, parse.DefaultFormat(), day, 400, false)
	r := parse.NewBytesReader(c, parse.Options{})
	recs, _ := r.ReadAll()
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
		r.Release()
	}()
	nc := int64(strings.Count(string(c), "\n"))
	for i := range 2 {
		if _, err := l.Write(ctx, fmt.Sprintf("/aws/vpc/flows/eni-1/%d", i), recs); err != nil {
			t.Fatal(err)
		}
	}
	want += 2 * nc
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "compact"); code != 0 {
		t.Fatalf("compact: exit %d: %s%s", code, out, errb)
	}
	agree(t, lake, want, "after compaction")
	if _, err := l.Write(ctx, "/aws/vpc/flows/eni-1/0", recs); err != nil {
		t.Fatal(err)
	}
	agree(t, lake, want, "after a retry of a merged batch")

	// A crash at every step of a compaction that merges merged files again.
	for i, step := range []string{store.StepManifest, store.StepMerged, store.StepMarkers, store.StepInputs, store.StepCleanup} {
		if _, err := l.Write(ctx, fmt.Sprintf("/aws/vpc/flows/eni-2/%d", i), recs); err != nil {
			t.Fatal(err)
		}
		want += nc
		crash := errors.New("crash")
		_, err := l.Compact(ctx, store.CompactOptions{Hook: func(s string) error {
			if s == step {
				return crash
			}
			return nil
		}})
		if !errors.Is(err, crash) {
			t.Fatalf("%s: %v", step, err)
		}
		if got := lakeSums(t, lake).Records; got != want {
			t.Errorf("crash after %s: flowq counts %d, want %d", step, got, want)
		}
		if code, out, errb := runCLI(t, "", nil, "--lake", lake, "compact"); code != 0 {
			t.Fatalf("compact: exit %d: %s%s", code, out, errb)
		}
		agree(t, lake, want, "recovered from a crash after "+step)
	}

	// rm of a source merged with others, by name; then of a Lambda batch.
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "sources", "rm", pb)
	if wantOut := fmt.Sprintf("removed %s records of %s", render.Count(nb), pb); code != 0 || !strings.HasPrefix(out, wantOut) {
		t.Errorf("sources rm: exit %d: %q%s, want %q", code, out, errb, wantOut)
	}
	want -= nb
	agree(t, lake, want, "after sources rm")
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "sources", "rm", "/aws/vpc/flows/eni-1/1"); code != 0 {
		t.Errorf("sources rm batch: exit %d: %s", code, errb)
	}
	want -= nc
	agree(t, lake, want, "after sources rm of a batch")
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "sources", "rm", pb); code != 2 || !strings.Contains(errb, "no source") {
		t.Errorf("rm again: exit %d: %s", code, errb)
	}
	var total int64
	for _, s := range listSources(t, lake) {
		total += s.Records
	}
	if total != want {
		t.Errorf("sources sum to %d records, the lake holds %d", total, want)
	}
}
