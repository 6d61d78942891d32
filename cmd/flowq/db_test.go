package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeRange(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		since, until string
		want         timeRange
		wantErr      string
	}{
		{"2h", "", timeRange{Since: now.Add(-2 * time.Hour)}, ""},
		{"7d", "1d", timeRange{Since: now.AddDate(0, 0, -7), Until: now.AddDate(0, 0, -1)}, ""},
		{"1w", "", timeRange{Since: now.AddDate(0, 0, -7)}, ""},
		{"1d12h", "", timeRange{Since: now.Add(-36 * time.Hour)}, ""},
		{"90m", "", timeRange{Since: now.Add(-90 * time.Minute)}, ""},
		{"2026-11-20T08:00:00Z", "2026-11-20T10:00:00+01:00", timeRange{Since: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}, ""},
		{"2026-11-20", "", timeRange{Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, ""},
		{"1795132800", "", timeRange{Since: time.Unix(1795132800, 0).UTC()}, ""},
		{"yesterday", "", timeRange{}, "--since: cannot read \"yesterday\""},
		{"-2h", "", timeRange{}, "--since"},
		{"", "2h", timeRange{Until: now.Add(-2 * time.Hour)}, ""},
		{"1h", "2h", timeRange{}, "empty time range"},
	}
	for _, tt := range tests {
		got, err := parseTimeRange(tt.since, tt.until, now)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("(%q, %q): err = %v, want %q", tt.since, tt.until, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("(%q, %q): %v", tt.since, tt.until, err)
			continue
		}
		if !got.Since.Equal(tt.want.Since) || !got.Until.Equal(tt.want.Until) {
			t.Errorf("(%q, %q) = %v, want %v", tt.since, tt.until, got, tt.want)
		}
	}
}
