// Package render writes result rows for people and programs: aligned
// tables sized to the terminal, CSV, JSON Lines and Markdown. It owns
// flowq's one byte formatter (Bytes) and count formatter (Count).
//
// Tables never cut a value: text columns wrap at spaces, and when a table
// still does not fit, whole columns are dropped (descriptions first, then
// from the right) and a last line names them. IP addresses, resource ids,
// timestamps and numbers are always shown whole. Instants are shown in UTC
// and the column header says so. CSV, JSON and Markdown keep exact values;
// Options.Raw keeps them exact in tables too.
package render

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"time"
)

// Format is an output format.
type Format string

// The formats.
const (
	Table    Format = "table"
	CSV      Format = "csv"
	JSON     Format = "json" // JSON Lines: one object per row
	Markdown Format = "markdown"
)

// ParseFormat reads a --output value; jsonl, ndjson and md are accepted
// as aliases.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "table", "csv", "json", "markdown":
		return Format(s), nil
	case "jsonl", "ndjson":
		return JSON, nil
	case "md":
		return Markdown, nil
	}
	return "", fmt.Errorf("--output %q: want table, csv, json or markdown", s)
}

// Options say how to render.
type Options struct {
	Format Format
	// Width is the terminal width tables must fit; 0 means no limit.
	Width int
	// Raw shows exact numbers in tables (no 1.5 MB, no 1,234).
	Raw bool
}

// SQLRows renders every row of rows to w and returns how many there were.
// Tables and Markdown read all rows first (to size the columns); CSV and
// JSON stream.
func SQLRows(w io.Writer, rows *sql.Rows, opts Options) (int, error) {
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	rw := newRowWriter(w, cols, opts)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
		if err := rw.row(vals); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, rw.close()
}

// Write renders rows built in Go (lists, summaries) like SQLRows does.
func Write(w io.Writer, cols []string, rows [][]any, opts Options) error {
	rw := newRowWriter(w, cols, opts)
	for _, r := range rows {
		if err := rw.row(r); err != nil {
			return err
		}
	}
	return rw.close()
}

// rowWriter takes rows one at a time.
type rowWriter struct {
	bw   *bufio.Writer
	cols []string
	opts Options
	cw   *csv.Writer
	line []byte
	t    *table // table and Markdown
}

func newRowWriter(w io.Writer, cols []string, opts Options) *rowWriter {
	rw := &rowWriter{bw: bufio.NewWriterSize(w, 64<<10), cols: cols, opts: opts}
	switch opts.Format {
	case CSV:
		rw.cw = csv.NewWriter(rw.bw)
		rw.cw.Write(cols)
	case JSON:
	default:
		rw.t = &table{cols: cols, numeric: make([]bool, len(cols)), times: make([]bool, len(cols))}
	}
	return rw
}

func (rw *rowWriter) row(vals []any) error {
	switch rw.opts.Format {
	case CSV:
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = plainText(v)
		}
		return rw.cw.Write(rec)
	case JSON:
		rw.line = appendJSONRow(rw.line[:0], rw.cols, vals)
		_, err := rw.bw.Write(rw.line)
		return err
	}
	rec := make([]string, len(vals))
	for i, v := range vals {
		if isNumber(v) {
			rw.t.numeric[i] = true
		}
		if _, ok := v.(time.Time); ok {
			rw.t.times[i] = true
		}
		if rw.opts.Format == Table {
			rec[i] = tableText(rw.cols[i], v, rw.opts.Raw)
		} else {
			rec[i] = plainText(v)
		}
	}
	rw.t.rows = append(rw.t.rows, rec)
	return nil
}

func (rw *rowWriter) close() error {
	switch rw.opts.Format {
	case CSV:
		rw.cw.Flush()
		if err := rw.cw.Error(); err != nil {
			return err
		}
	case JSON:
	case Markdown:
		rw.t.markdown(rw.bw)
	default:
		rw.t.write(rw.bw, rw.opts.Width)
	}
	return rw.bw.Flush()
}
