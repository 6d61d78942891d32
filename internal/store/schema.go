package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/parse"
)

// ErrNotFlowLog is wrapped by errors about data that is not flow-log
// records: unknown columns, a column of the wrong type, no start column.
var ErrNotFlowLog = errors.New("not flow-log records")

// CheckFlowSchema tells whether sc (a Parquet file's schema, such as AWS's
// own FileFormat=parquet delivery) holds flow-log records: every column is
// a flow-log field under its Parquet column name (tcp_flags, not
// tcp-flags), of an integer type for numeric fields and a string type for
// the others, and start is present. The error names every offending
// column and wraps ErrNotFlowLog.
func CheckFlowSchema(sc *arrow.Schema) error {
	var unknown, wrong []string
	hasStart := false
	for _, f := range sc.Fields() {
		fd, ok := parse.Lookup(f.Name)
		if !ok || fd.Column != f.Name {
			unknown = append(unknown, f.Name)
			continue
		}
		if f.Name == parse.ColStart {
			hasStart = true
		}
		if !convertible(f.Type, fd.Kind.DataType()) {
			wrong = append(wrong, fmt.Sprintf("%s is %s, want %s", f.Name, f.Type, fd.Kind.DataType()))
		}
	}
	var problems []string
	if len(unknown) > 0 {
		problems = append(problems, "columns that are not flow-log fields: "+strings.Join(unknown, ", "))
	}
	if len(wrong) > 0 {
		problems = append(problems, strings.Join(wrong, "; "))
	}
	if !hasStart && len(unknown) < sc.NumFields() {
		problems = append(problems, "no start column (every record needs its start time)")
	}
	if len(unknown) == sc.NumFields() {
		problems = []string{"no flow-log columns (found " + strings.Join(unknown, ", ") + "; flow-log Parquet has version, account_id, interface_id, srcaddr, …, start, end, action)"}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrNotFlowLog, strings.Join(problems, "; "))
	}
	return nil
}

// convertible tells whether conform can turn a column of type got into
// want.
func convertible(got, want arrow.DataType) bool {
	if d, ok := got.(*arrow.DictionaryType); ok {
		got = d.ValueType
	}
	switch want.ID() {
	case arrow.INT32, arrow.INT64:
		switch got.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			return true
		}
	case arrow.STRING:
		switch got.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY:
			return true
		}
	}
	return false
}
