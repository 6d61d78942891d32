package report

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/store"
)

// TestWriteLake checks that a report of a range also opens the previous
// period of equal length, passes the lake and range to the alerts, closes
// every session, and writes the file it says it wrote; a failing session
// leaves no file.
func TestWriteLake(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []string{dayText(1, day, 20_000)}, store.TimeRange{})
	var opened []store.TimeRange
	open := 0
	c := LakeConfig{
		Range: store.TimeRange{Since: day.Add(12 * time.Hour), Until: day.Add(18 * time.Hour)},
		Path:  filepath.Join(t.TempDir(), "r.html"),
		Lake:  f.lake,
		Open: func(ctx context.Context, tr store.TimeRange) (*sql.DB, func() error, error) {
			opened = append(opened, tr)
			db, err := lakedb.Open(ctx, f.lake, tr, lakedb.Options{})
			if err != nil {
				return nil, nil, err
			}
			open++
			return db.SQL(), func() error { open--; return db.Close() }, nil
		},
		Alerts: func(_ context.Context, lake *store.Lake, tr store.TimeRange) ([]detect.Alert, error) {
			if lake != f.lake || tr != (store.TimeRange{Since: day.Add(12 * time.Hour), Until: day.Add(18 * time.Hour)}) {
				t.Errorf("alerts asked of %v over %v", lake, tr)
			}
			return []detect.Alert{{Detector: "reject", Src: "10.0.0.1", WindowStart: day.Add(13 * time.Hour)}}, nil
		},
	}
	res, err := WriteLake(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TimeRange{c.Range, {Since: day.Add(6 * time.Hour), Until: day.Add(12 * time.Hour)}}
	if diff := cmp.Diff(opened, want); diff != "" {
		t.Errorf("sessions opened (-got +want):\n%s", diff)
	}
	if open != 0 {
		t.Errorf("%d sessions left open", open)
	}
	st, err := os.Stat(c.Path)
	if err != nil || st.Size() != res.Size || res.Size == 0 {
		t.Errorf("file %s: %v, size %d; WriteLake said %d", c.Path, err, st.Size(), res.Size)
	}
	if len(res.Data.Alerts) != 1 || res.Data.Summary.Records == 0 || res.Span() != "2026-11-20 12:00 – 2026-11-20 18:00" {
		t.Errorf("report of %s: %d alerts, %d records", res.Span(), len(res.Data.Alerts), res.Data.Summary.Records)
	}

	c.Path = filepath.Join(t.TempDir(), "failed.html")
	c.Open = func(context.Context, store.TimeRange) (*sql.DB, func() error, error) {
		return nil, nil, errors.New("no session")
	}
	if _, err := WriteLake(ctx, c); err == nil {
		t.Error("WriteLake with a failing session: no error")
	}
	if _, err := os.Stat(c.Path); !os.IsNotExist(err) {
		t.Errorf("a failed report left %s (%v)", c.Path, err)
	}
}
