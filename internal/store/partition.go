package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Partition is one hour of the lake, in UTC.
type Partition struct {
	Year, Month, Day, Hour int
}

// PartitionOf returns the partition of a start time in Unix seconds.
func PartitionOf(unix int64) Partition {
	t := time.Unix(unix, 0).UTC()
	return Partition{t.Year(), int(t.Month()), t.Day(), t.Hour()}
}

// Time returns the first instant of the partition.
func (p Partition) Time() time.Time {
	return time.Date(p.Year, time.Month(p.Month), p.Day, p.Hour, 0, 0, 0, time.UTC)
}

// Path returns the partition's directory, "year=YYYY/month=MM/day=DD/hour=HH".
func (p Partition) Path() string {
	return fmt.Sprintf("year=%04d/month=%02d/day=%02d/hour=%02d", p.Year, p.Month, p.Day, p.Hour)
}

func (p Partition) String() string { return p.Path() }

// parsePartition parses the directory part of a key.
func parsePartition(dir string) (Partition, bool) {
	parts := strings.Split(dir, "/")
	if len(parts) != 4 {
		return Partition{}, false
	}
	var v [4]int
	for i, name := range []string{"year", "month", "day", "hour"} {
		k, val, ok := strings.Cut(parts[i], "=")
		if !ok || k != name {
			return Partition{}, false
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			return Partition{}, false
		}
		v[i] = n
	}
	return Partition{v[0], v[1], v[2], v[3]}, true
}
