package render

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Bytes formats a byte count with decimal (SI) units, as alerts and
// thresholds are written: 999 B, 1.5 kB, 50 MB, 120 GB. It is flowq's one
// byte formatter.
func Bytes(n int64) string {
	const units = "kMGTPE"
	if n < 1000 && n > -1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	i := -1
	for (f >= 999.5 || f <= -999.5) && i < len(units)-1 {
		f /= 1000
		i++
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if f >= 100 || f <= -100 {
		s = strconv.FormatFloat(f, 'f', 0, 64)
	}
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string(units[i]) + "B"
}

// Count formats n with thousands separators: 1,234,567.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// TimeLayout is how tables show instants; the column header says UTC.
const TimeLayout = "2006-01-02 15:04:05"

func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, *big.Int, decimal:
		return true
	}
	return false
}

// decimal is DuckDB's DECIMAL as database/sql scans it (duckdb.Decimal),
// matched by its methods so that render links no DuckDB: the cgo-free
// Lambda uses render through internal/pipeline.
type decimal interface {
	Float64() float64
	String() string
}

// plainText renders a value exactly, as CSV and Markdown show it.
func plainText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case *big.Int:
		return x.String()
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// tableText renders a value for people: byte counts as Bytes, counts with
// separators, instants in TimeLayout (UTC), "" for NULL. raw keeps numbers
// exact.
func tableText(col string, v any, raw bool) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(TimeLayout)
	}
	if raw {
		return plainText(v)
	}
	lc := strings.ToLower(col)
	if n, ok := toInt64(v); ok {
		switch {
		case strings.Contains(lc, "bytes"):
			return Bytes(n)
		case isCountColumn(lc):
			return Count(n)
		}
		return strconv.FormatInt(n, 10)
	}
	if x, ok := v.(float64); ok {
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	return plainText(v)
}

func isCountColumn(lc string) bool {
	for _, s := range []string{"packets", "flows", "rejects", "records", "count", "rows", "nodata", "skipdata", "targets"} {
		if strings.HasSuffix(lc, s) {
			return true
		}
	}
	return lc == "ok"
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x <= 1<<63-1 {
			return int64(x), true
		}
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), true
		}
	}
	return 0, false
}

// appendJSONRow appends one row as a JSON object and a newline.
func appendJSONRow(dst []byte, cols []string, vals []any) []byte {
	dst = append(dst, '{')
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendQuote(dst, c)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, vals[i])
	}
	return append(dst, '}', '\n')
}

func appendJSONValue(dst []byte, v any) []byte {
	if n, ok := toInt64(v); ok {
		return strconv.AppendInt(dst, n, 10)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, x)
	case *big.Int:
		return append(dst, x.String()...)
	case decimal:
		return append(dst, x.String()...)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case float64:
		data, err := json.Marshal(x)
		if err != nil { // NaN, Inf
			return strconv.AppendQuote(dst, plainText(x))
		}
		return append(dst, data...)
	case string, []byte, time.Time:
		data, _ := json.Marshal(plainText(x))
		return append(dst, data...)
	}
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(plainText(v))
	}
	return append(dst, data...)
}
