package parse

import (
	"errors"
	"fmt"
	"strconv"
)

// Reasons a line is rejected. A *LineError wraps exactly one of them; use
// errors.Is to classify.
var (
	ErrFieldCount  = errors.New("wrong number of fields")
	ErrSyntax      = errors.New("not a number")
	ErrRange       = errors.New("value out of range")
	ErrValue       = errors.New("invalid value")
	ErrUTF8        = errors.New("invalid UTF-8")
	ErrLineTooLong = errors.New("line too long")
)

// Reason indexes the per-reason counters in Stats.
type Reason int

const (
	ReasonFieldCount Reason = iota
	ReasonSyntax
	ReasonRange
	ReasonValue
	ReasonUTF8
	ReasonLineTooLong
	// ReasonUnknownField is used only for warnings: a header line names a
	// field flowq does not know; it is kept as a string column.
	ReasonUnknownField
	numReasons
)

var reasonErrs = [numReasons]error{ErrFieldCount, ErrSyntax, ErrRange, ErrValue, ErrUTF8, ErrLineTooLong, ErrUnknownField}

func (r Reason) String() string {
	switch r {
	case ReasonFieldCount:
		return "field_count"
	case ReasonSyntax:
		return "syntax"
	case ReasonRange:
		return "range"
	case ReasonValue:
		return "value"
	case ReasonUTF8:
		return "utf8"
	case ReasonLineTooLong:
		return "line_too_long"
	case ReasonUnknownField:
		return "unknown_field"
	}
	return "unknown"
}

// Err returns the sentinel error of the reason.
func (r Reason) Err() error { return reasonErrs[r] }

// LineError describes one rejected line. The line is skipped; the lines
// around it are still parsed.
type LineError struct {
	File   string // input name given in Options.Name ("" if none)
	Line   int64  // 1-based line number in the input
	Field  string // AWS field name ("srcport"), "" for line-level errors
	Value  string // the offending text, truncated
	Detail string // extra explanation, e.g. "14 fields, format has 13"
	Reason Reason

	got, want int // field counts of a ReasonFieldCount error
}

func (e *LineError) Error() string {
	var b []byte
	if e.File != "" {
		b = append(b, e.File...)
		b = append(b, ':')
	}
	b = strconv.AppendInt(b, e.Line, 10)
	b = append(b, ": "...)
	if e.Field != "" {
		b = append(b, "field "...)
		b = append(b, e.Field...)
		b = append(b, ": "...)
	}
	b = append(b, e.Reason.Err().Error()...)
	if e.Value != "" {
		b = append(b, ' ')
		b = strconv.AppendQuote(b, e.Value)
	}
	if e.Detail != "" {
		b = append(b, " ("...)
		b = append(b, e.Detail...)
		b = append(b, ')')
	}
	return string(b)
}

// Unwrap returns the sentinel of the reason, so errors.Is works.
func (e *LineError) Unwrap() error { return e.Reason.Err() }

// Stats counts what a Reader has seen. Every moving thing has a counter.
type Stats struct {
	Lines    int64 // physical lines, including blank and header lines
	Records  int64 // records emitted in batches
	Bytes    int64 // input bytes consumed, newlines included
	Headers  int64 // header lines seen
	Blank    int64 // blank lines skipped
	BadLines int64 // rejected lines
	ByReason [numReasons]int64
	NoData   int64 // records with log-status NODATA
	SkipData int64 // records with log-status SKIPDATA
	Batches  int64 // record batches emitted
	Millis   int64 // start/end values given in epoch milliseconds, stored as seconds
}

// BadByReason returns the non-zero rejected-line counts keyed by reason name.
func (s Stats) BadByReason() map[string]int64 {
	m := map[string]int64{}
	for r, n := range s.ByReason {
		if n > 0 {
			m[Reason(r).String()] = n
		}
	}
	return m
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.Lines += o.Lines
	s.Records += o.Records
	s.Bytes += o.Bytes
	s.Headers += o.Headers
	s.Blank += o.Blank
	s.BadLines += o.BadLines
	for i := range s.ByReason {
		s.ByReason[i] += o.ByReason[i]
	}
	s.NoData += o.NoData
	s.SkipData += o.SkipData
	s.Batches += o.Batches
	s.Millis += o.Millis
}

func truncate(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func fieldCountDetail(got, want int) string {
	return fmt.Sprintf("%d fields, format has %d", got, want)
}
