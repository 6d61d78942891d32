package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/store"
)

func TestParseTimeRange(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, since, until string
		want               store.TimeRange
		err                string
	}{
		{"hours ago", "2h", "", store.TimeRange{Since: now.Add(-2 * time.Hour)}, ""},
		{"days", "7d", "1d", store.TimeRange{Since: now.AddDate(0, 0, -7), Until: now.AddDate(0, 0, -1)}, ""},
		{"week", "1w", "", store.TimeRange{Since: now.AddDate(0, 0, -7)}, ""},
		{"compound", "1d12h", "", store.TimeRange{Since: now.Add(-36 * time.Hour)}, ""},
		{"rfc3339 offsets", "2026-11-20T08:00:00Z", "2026-11-20T10:00:00+01:00", store.TimeRange{Since: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}, ""},
		{"date", "2026-11-20", "", store.TimeRange{Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, ""},
		{"unix", "1795132800", "", store.TimeRange{Since: time.Unix(1795132800, 0).UTC()}, ""},
		{"words", "yesterday", "", store.TimeRange{}, `--since: cannot read "yesterday"`},
		{"negative", "-2h", "", store.TimeRange{}, "--since"},
		{"until only", "", "2h", store.TimeRange{Until: now.Add(-2 * time.Hour)}, ""},
		{"empty", "1h", "2h", store.TimeRange{}, "empty time range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ParseTimeRange(tt.since, tt.until, now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !got.Since.Equal(tt.want.Since) || !got.Until.Equal(tt.want.Until) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestTimeRangeFilter(t *testing.T) {
	h := func(hour int) store.Partition { return store.Partition{Year: 2026, Month: 11, Day: 20, Hour: hour} }
	tr := store.TimeRange{Since: h(8).Time().Add(30 * time.Minute), Until: h(10).Time()}
	f := tr.Filter()
	for hour, want := range map[int]bool{7: false, 8: true, 9: true, 10: false} {
		if got := f(h(hour)); got != want {
			t.Errorf("hour %d: %v, want %v", hour, got, want)
		}
	}
	if (store.TimeRange{}).Filter() != nil {
		t.Error("unbounded range filters")
	}
	if !tr.Contains(h(8).Time().Add(45*time.Minute).Unix()) || tr.Contains(h(10).Time().Unix()) {
		t.Error("Contains")
	}
}
