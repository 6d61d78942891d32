package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/cwlogs/golden.json")

const fixtureDir = "../../testdata/cwlogs"

// TestFixtures drives the handler (local lake, in-memory state) through
// lambda.NewHandler with the JSON events in testdata/cwlogs and compares
// what it did with golden.json (refresh with -update).
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := benchHandler(t)
	lh := lambda.NewHandler(h)
	got := map[string]summary{}
	for _, f := range files {
		name := filepath.Base(f)
		if name == "golden.json" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := lh.Invoke(t.Context(), b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var s summary
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatal(err)
		}
		s.DurationMS, s.LakeBytes = 0, 0 // timing, and the Parquet encoder's business
		got[strings.TrimSuffix(name, ".json")] = s
	}
	golden := filepath.Join(fixtureDir, "golden.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]summary
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	// The success case is in there: flow logs stored.
	if s := got["flow-logs"]; s.Records == 0 || s.Objects == 0 {
		t.Errorf("flow-logs fixture stored nothing: %+v", s)
	}
}
