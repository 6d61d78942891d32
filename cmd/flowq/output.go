package main

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Output formats of query results.
const (
	outTable    = "table"
	outCSV      = "csv"
	outJSON     = "json" // JSON Lines: one object per row
	outMarkdown = "markdown"
)

// outputOptions say how to render a result.
type outputOptions struct {
	Format string // table, csv, json or markdown
	Width  int    // terminal width for tables; 0 = no limit
}

// addOutputFlag binds --output (-o) on fs.
func addOutputFlag(fs *pflag.FlagSet, format *string) {
	fs.StringVarP(format, "output", "o", outTable, "result format: table, csv, json (JSON Lines) or markdown")
}

// outputOptions validates the --output value and sizes tables to the
// terminal when stdout is one.
func (a *app) outputOptions(format string) (outputOptions, error) {
	switch format {
	case outTable, outCSV, outJSON, outMarkdown:
	case "jsonl", "ndjson":
		format = outJSON
	case "md":
		format = outMarkdown
	default:
		return outputOptions{}, usageError("--output %q: want table, csv, json or markdown", format)
	}
	return outputOptions{Format: format, Width: a.terminalWidth()}, nil
}

// terminalWidth returns stdout's width when it is a terminal, else 0.
func (a *app) terminalWidth() int {
	if f, ok := a.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 0
}

// writeRows renders every row of rows to w and returns how many there were.
// Table and markdown read all rows first (to size the columns); csv and json
// stream. Byte counts are shown as human sizes (1.2 MiB) in table mode only;
// other formats keep exact numbers.
func writeRows(w io.Writer, rows *sql.Rows, opts outputOptions) (int, error) {
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	var cw *csv.Writer
	var table [][]string
	var numeric []bool
	switch opts.Format {
	case outCSV:
		cw = csv.NewWriter(bw)
		if err := cw.Write(cols); err != nil {
			return 0, err
		}
	case outTable, outMarkdown:
		numeric = make([]bool, len(cols))
	}
	var line []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
		switch opts.Format {
		case outCSV:
			rec := make([]string, len(cols))
			for i, v := range vals {
				rec[i] = plainText(v)
			}
			if err := cw.Write(rec); err != nil {
				return n, err
			}
		case outJSON:
			line = appendJSONRow(line[:0], cols, vals)
			if _, err := bw.Write(line); err != nil {
				return n, err
			}
		default:
			rec := make([]string, len(cols))
			for i, v := range vals {
				if isNumber(v) {
					numeric[i] = true
				}
				if opts.Format == outTable {
					rec[i] = tableText(cols[i], v)
				} else {
					rec[i] = plainText(v)
				}
			}
			table = append(table, rec)
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	switch opts.Format {
	case outCSV:
		cw.Flush()
		return n, cw.Error()
	case outTable:
		writeTable(bw, cols, table, numeric, opts.Width)
	case outMarkdown:
		writeMarkdown(bw, cols, table, numeric)
	}
	return n, bw.Flush()
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, *big.Int, duckdb.Decimal:
		return true
	}
	return false
}

// plainText renders a value exactly: csv, markdown.
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
	}
	return fmt.Sprint(v)
}

// tableText renders a value for people: human sizes for byte counts,
// thousands separators for counts, short timestamps, "" for NULL.
func tableText(col string, v any) string {
	lc := strings.ToLower(col)
	if n, ok := toInt64(v); ok {
		switch {
		case strings.Contains(lc, "bytes"):
			return humanBytes(n)
		case isCountColumn(lc):
			return groupDigits(n)
		}
		return strconv.FormatInt(n, 10)
	}
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05")
	case float64:
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

// humanBytes formats a byte count with binary units.
func humanBytes(n int64) string {
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= 1024
		if f < 1024 && f > -1024 {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return strconv.FormatFloat(f/1024, 'f', 1, 64) + " EiB"
}

// groupDigits writes n with thousands separators.
func groupDigits(n int64) string {
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
	case duckdb.Decimal:
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

// writeTable writes an aligned table; when width > 0, the widest columns
// are cut (with "…") until a line fits.
func writeTable(w io.Writer, cols []string, rows [][]string, numeric []bool, width int) {
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c)
	}
	for _, r := range rows {
		for i, s := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	if width > 0 {
		total := func() int {
			t := 0
			for _, x := range widths {
				t += x + 2
			}
			return t - 2
		}
		// Cut text columns, widest first; numbers are never cut.
		for total() > width {
			wi := -1
			for i := range widths {
				if !numeric[i] && widths[i] > 8 && (wi < 0 || widths[i] > widths[wi]) {
					wi = i
				}
			}
			if wi < 0 {
				break
			}
			widths[wi]--
		}
	}
	line := func(cells []string, header bool) {
		var b strings.Builder
		for i, s := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			s = cut(s, widths[i])
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			if numeric[i] && !header {
				b.WriteString(pad + s)
			} else if i == len(cells)-1 {
				b.WriteString(s)
			} else {
				b.WriteString(s + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(cols, true)
	rule := make([]string, len(cols))
	for i := range cols {
		rule[i] = strings.Repeat("-", widths[i])
	}
	line(rule, true)
	for _, r := range rows {
		line(r, false)
	}
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// writeMarkdown writes a GitHub-flavoured Markdown table.
func writeMarkdown(w io.Writer, cols []string, rows [][]string, numeric []bool) {
	esc := func(s string) string {
		return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
	}
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cols {
		b.WriteString(" " + esc(c) + " |")
	}
	b.WriteString("\n|")
	for i := range cols {
		if numeric[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("|")
		for _, s := range r {
			b.WriteString(" " + esc(s) + " |")
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}
