package parse_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flowq/flowq/internal/parse"
)

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

// TestWriteJSONLines checks every row becomes one line that decodes as JSON
// with the row's values, and that the writer's error comes back.
func TestWriteJSONLines(t *testing.T) {
	text := "2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n" +
		"2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA\n" +
		"2 123456789010 eni-2 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK\n"
	r := parse.NewReader(strings.NewReader(text), parse.Options{BatchSize: 2})
	defer r.Release()
	var out bytes.Buffer
	var buf []byte
	var err error
	for r.Next() {
		if buf, err = parse.WriteJSONLines(&out, r.RecordBatch(), buf); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out.String())
	}
	for i, want := range []struct {
		iface, action string
		bytes         any
	}{{"eni-1", "ACCEPT", 4249.0}, {"eni-1", "", nil}, {"eni-2", "REJECT", 4249.0}} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatalf("line %d %q: %v", i+1, lines[i], err)
		}
		if act, _ := m["action"].(string); m["interface_id"] != want.iface || act != want.action || m["bytes"] != want.bytes {
			t.Errorf("line %d = %v, want interface %s, action %q, bytes %v", i+1, m, want.iface, want.action, want.bytes)
		}
	}

	r2 := parse.NewReader(strings.NewReader(text), parse.Options{})
	defer r2.Release()
	if !r2.Next() {
		t.Fatal(r2.Err())
	}
	if _, err := parse.WriteJSONLines(&failWriter{n: 1}, r2.RecordBatch(), nil); err == nil || err.Error() != "disk full" {
		t.Errorf("error %v, want the writer's", err)
	}
}
