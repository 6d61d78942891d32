package collect

import (
	"testing"
	"time"
)

func TestValidInterval(t *testing.T) {
	for _, m := range []int{5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 1, 2, 3} {
		if err := ValidInterval(time.Duration(m) * time.Minute); err != nil {
			t.Errorf("%d minutes: %v", m, err)
		}
	}
	for _, d := range []time.Duration{0, -time.Hour, 7 * time.Minute, 45 * time.Minute, 90 * time.Minute, 5 * time.Hour, 48 * time.Hour, 90 * time.Second} {
		if err := ValidInterval(d); err == nil {
			t.Errorf("%v accepted", d)
		}
	}
}

func TestParseDelivery(t *testing.T) {
	for _, tc := range []struct{ uri, bucket, prefix string }{
		{"s3://flows", "flows", ""},
		{"s3://flows/", "flows", ""},
		{"s3://flows/vpc", "flows", "vpc/"},
		{"s3://flows/AWSLogs/123456789012/vpcflowlogs/us-east-1/", "flows", "AWSLogs/123456789012/vpcflowlogs/us-east-1/"},
	} {
		b, p, err := ParseDelivery(tc.uri)
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("%s: %q %q %v, want %q %q", tc.uri, b, p, err, tc.bucket, tc.prefix)
		}
	}
	for _, uri := range []string{"", "flows/x", "s3:///x", "https://flows/x"} {
		if _, _, err := ParseDelivery(uri); err == nil {
			t.Errorf("%q accepted", uri)
		}
	}
}

// TestSlot: slots align on the clock (UTC), whatever the interval.
func TestSlot(t *testing.T) {
	at := time.Date(2026, 11, 20, 14, 55, 0, 0, time.UTC)
	for _, tc := range []struct {
		iv   time.Duration
		want time.Time
	}{
		{time.Hour, time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)},
		{5 * time.Minute, at},
		{20 * time.Minute, time.Date(2026, 11, 20, 14, 40, 0, 0, time.UTC)},
		{6 * time.Hour, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)},
		{24 * time.Hour, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
	} {
		c := &Collector{cfg: Config{Interval: tc.iv}}
		if got := time.Unix(c.slot(at), 0).UTC(); !got.Equal(tc.want) {
			t.Errorf("%v: slot %v, want %v", tc.iv, got, tc.want)
		}
	}
}
