package parse

import (
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Encoder appends rows of a record batch as JSON objects or flow-log text.
// Build one per batch (it resolves the column types once) and reuse the
// destination buffer.
type Encoder struct {
	names [][]byte // `"name":` per column
	cols  []colReader
}

type colReader struct {
	i32 *array.Int32
	i64 *array.Int64
	str *array.String
}

// NewEncoder prepares an encoder for the batch's columns. Columns must be
// int32, int64 or utf8, as the Reader produces.
func NewEncoder(rec arrow.RecordBatch) *Encoder {
	e := &Encoder{}
	sc := rec.Schema()
	for i, col := range rec.Columns() {
		e.names = append(e.names, []byte(strconv.Quote(sc.Field(i).Name)+":"))
		var cr colReader
		switch a := col.(type) {
		case *array.Int32:
			cr.i32 = a
		case *array.Int64:
			cr.i64 = a
		case *array.String:
			cr.str = a
		}
		e.cols = append(e.cols, cr)
	}
	return e
}

// WriteJSONLines writes every row of rec to w as JSON Lines, one object
// and a newline per row, using buf as scratch space, which it returns for
// the next call.
func WriteJSONLines(w io.Writer, rec arrow.RecordBatch, buf []byte) ([]byte, error) {
	enc := NewEncoder(rec)
	for i := 0; i < int(rec.NumRows()); i++ {
		buf = enc.AppendJSON(buf[:0], i)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// AppendJSON appends row i as one JSON object (no newline); nulls as null.
func (e *Encoder) AppendJSON(dst []byte, i int) []byte {
	dst = append(dst, '{')
	for j, c := range e.cols {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.names[j]...)
		switch {
		case c.i32 != nil:
			if c.i32.IsNull(i) {
				dst = append(dst, "null"...)
			} else {
				dst = strconv.AppendInt(dst, int64(c.i32.Value(i)), 10)
			}
		case c.i64 != nil:
			if c.i64.IsNull(i) {
				dst = append(dst, "null"...)
			} else {
				dst = strconv.AppendInt(dst, c.i64.Value(i), 10)
			}
		case c.str != nil:
			if c.str.IsNull(i) {
				dst = append(dst, "null"...)
			} else {
				dst = appendJSONString(dst, c.str.Value(i))
			}
		default:
			dst = append(dst, "null"...)
		}
	}
	return append(dst, '}')
}

// AppendText appends row i as a flow-log line (no newline), "-" for nulls.
func (e *Encoder) AppendText(dst []byte, i int) []byte {
	for j, c := range e.cols {
		if j > 0 {
			dst = append(dst, ' ')
		}
		switch {
		case c.i32 != nil && c.i32.IsValid(i):
			dst = strconv.AppendInt(dst, int64(c.i32.Value(i)), 10)
		case c.i64 != nil && c.i64.IsValid(i):
			dst = strconv.AppendInt(dst, c.i64.Value(i), 10)
		case c.str != nil && c.str.IsValid(i):
			dst = append(dst, c.str.Value(i)...)
		default:
			dst = append(dst, '-')
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string. The common case (printable
// ASCII without quotes or backslashes) is copied as is.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				dst = append(dst, s[start:i]...)
				if r == utf8.RuneError {
					dst = append(dst, `\ufffd`...)
				} else {
					dst = append(dst, `\u202`...)
					dst = append(dst, hexDigits[r&0xf])
				}
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
