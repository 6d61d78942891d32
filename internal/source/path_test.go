package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestReadPath reads a directory of a plain and a gzip file and checks the
// records against an independent count of the lines; ReadText gives one
// file's text back decompressed and refuses a path that names two.
func TestReadPath(t *testing.T) {
	ctx := context.Background()
	text, err := os.ReadFile("testdata/aws-default.log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.log"), text)
	gzPath := write(t, filepath.Join(dir, "b.log.gz"), gz(t, text))
	c := Config{}
	var rows int64
	st, err := c.ReadPath(ctx, dir, ReadOptions{}, func(rec arrow.RecordBatch) error {
		rows += rec.NumRows()
		return nil
	})
	if want := 2 * countLines(string(text)); err != nil || rows != want || st.Records != want {
		t.Errorf("ReadPath: %d rows, stats %+v, err %v; want %d rows", rows, st, err, want)
	}

	got, err := c.ReadText(ctx, gzPath)
	if err != nil || string(got) != string(text) {
		t.Errorf("ReadText(%s) = %d bytes, %v; want the %d bytes of text", gzPath, len(got), err, len(text))
	}
	if _, err := c.ReadText(ctx, dir); err == nil || !strings.Contains(err.Error(), "not one flow-log file") {
		t.Errorf("ReadText(dir) error %v, want not one flow-log file", err)
	}
	bin := write(t, filepath.Join(t.TempDir(), "c.log"), []byte{0, 1, 2, 0, 0xff, 0xfe, 0, 0})
	if _, err := c.ReadPath(ctx, bin, ReadOptions{}, func(arrow.RecordBatch) error { return nil }); err == nil {
		t.Error("ReadPath of binary data: no error")
	}
}
