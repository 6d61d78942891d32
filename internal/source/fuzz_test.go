package source

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// FuzzRead: whatever the bytes (text, gzip, Parquet or not), Read returns
// records or an error naming the input, never panics, and the records it
// hands out are the ones it counts.
func FuzzRead(f *testing.F) {
	def, _ := os.ReadFile("testdata/aws-default.log")
	f.Add(def)
	f.Add(gz(f, def))
	f.Add([]byte("PAR1garbagePAR1"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "in.log")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var c Config
		in, _ := c.fileInput(p, int64(len(data)))
		var n int64
		st, err := in.Read(t.Context(), ReadOptions{MaxLineBytes: 4096}, func(rec arrow.RecordBatch) error {
			n += rec.NumRows()
			return nil
		})
		if err == nil && n != st.Records {
			t.Fatalf("handed out %d records, counted %d", n, st.Records)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
