package parse

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// DefaultFormatString is AWS's default (version 2) flow-log format.
const DefaultFormatString = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

// ErrUnknownField is wrapped by the error ParseFormat returns for a field name
// AWS does not define.
var ErrUnknownField = errors.New("unknown flow-log field")

// Format is the ordered list of fields of a flow log, as given by its
// ${field} format string or by the header line of a file delivered to S3.
// A Format is immutable and safe to share.
type Format struct {
	fields []Field
	schema *arrow.Schema
}

// DefaultFormat returns AWS's default version 2 format.
func DefaultFormat() *Format {
	fm, err := ParseFormat(DefaultFormatString)
	if err != nil {
		panic(err) // impossible: the default format is valid
	}
	return fm
}

// ParseFormat parses an AWS format string such as
// "${version} ${srcaddr} ${dstaddr}". Tokens may also be given bare
// ("version srcaddr dstaddr"). An empty string yields the default format. An
// unknown field name is an error naming the field and the closest known one.
func ParseFormat(s string) (*Format, error) {
	toks := strings.Fields(s)
	if len(toks) == 0 {
		return ParseFormat(DefaultFormatString)
	}
	fields := make([]Field, 0, len(toks))
	seen := make(map[string]bool, len(toks))
	for _, tok := range toks {
		name := tok
		if strings.HasPrefix(tok, "${") || strings.HasSuffix(tok, "}") {
			if !strings.HasPrefix(tok, "${") || !strings.HasSuffix(tok, "}") || len(tok) < 4 {
				return nil, fmt.Errorf("format: malformed token %q: write fields as ${name}", tok)
			}
			name = tok[2 : len(tok)-1]
		}
		fd, ok := lookupName(name)
		if !ok {
			if s := suggest(name); s != "" {
				return nil, fmt.Errorf("format: %w ${%s}: did you mean ${%s}?", ErrUnknownField, name, s)
			}
			return nil, fmt.Errorf("format: %w ${%s}", ErrUnknownField, name)
		}
		if seen[fd.Name] {
			return nil, fmt.Errorf("format: field ${%s} appears twice", fd.Name)
		}
		seen[fd.Name] = true
		fields = append(fields, fd)
	}
	return newFormat(fields), nil
}

// lookupName finds a field by its AWS name only (format strings use hyphens).
func lookupName(name string) (Field, bool) {
	for _, k := range known {
		if k.Name == name {
			return k, true
		}
	}
	return Field{}, false
}

// MustParseFormat is ParseFormat for formats known to be valid, such as
// constants in tests; it panics on error.
func MustParseFormat(s string) *Format {
	fm, err := ParseFormat(s)
	if err != nil {
		panic(err)
	}
	return fm
}

// FromHeader builds a format from the header line of an S3 flow-log file
// ("version account-id interface-id ..."). Unknown names are kept as string
// columns so that fields AWS adds later do not break ingestion; they are
// returned in unknown so the caller can warn.
func FromHeader(line string) (fm *Format, unknown []string, err error) {
	toks := strings.Fields(line)
	if len(toks) == 0 {
		return nil, nil, errors.New("header: empty")
	}
	fields := make([]Field, 0, len(toks))
	seen := make(map[string]bool, len(toks))
	for _, tok := range toks {
		if seen[tok] {
			return nil, nil, fmt.Errorf("header: field %q appears twice", tok)
		}
		seen[tok] = true
		fd, ok := lookupName(tok)
		if !ok {
			unknown = append(unknown, tok)
			fd = Field{Name: tok, Column: ColumnName(tok), Kind: String}
		}
		fields = append(fields, fd)
	}
	return newFormat(fields), unknown, nil
}

func newFormat(fields []Field) *Format {
	afs := make([]arrow.Field, len(fields))
	for i, fd := range fields {
		afs[i] = arrow.Field{Name: fd.Column, Type: fd.Kind.DataType(), Nullable: true}
	}
	return &Format{fields: fields, schema: arrow.NewSchema(afs, nil)}
}

// Fields returns the format's fields in order.
func (fm *Format) Fields() []Field { return append([]Field(nil), fm.fields...) }

// Len returns the number of fields.
func (fm *Format) Len() int { return len(fm.fields) }

// Field returns the i-th field.
func (fm *Format) Field(i int) Field { return fm.fields[i] }

// Index returns the position of the field with the given column or AWS name,
// or -1.
func (fm *Format) Index(name string) int {
	for i, fd := range fm.fields {
		if fd.Column == name || fd.Name == name {
			return i
		}
	}
	return -1
}

// Schema returns the Arrow schema of record batches in this format.
func (fm *Format) Schema() *arrow.Schema { return fm.schema }

// Version returns the flow-log version of the format: the highest version
// among its fields (what AWS writes into the version field).
func (fm *Format) Version() int {
	v := 2
	for _, fd := range fm.fields {
		v = max(v, fd.Version)
	}
	return v
}

// String returns the format in AWS ${field} syntax.
func (fm *Format) String() string {
	var b strings.Builder
	for i, fd := range fm.fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${")
		b.WriteString(fd.Name)
		b.WriteByte('}')
	}
	return b.String()
}

// Header returns the format as the header line AWS writes at the top of each
// S3 file: field names separated by single spaces.
func (fm *Format) Header() string {
	names := make([]string, len(fm.fields))
	for i, fd := range fm.fields {
		names[i] = fd.Name
	}
	return strings.Join(names, " ")
}

// Equal reports whether two formats have the same fields in the same order.
func (fm *Format) Equal(o *Format) bool {
	if fm == o {
		return true
	}
	if fm == nil || o == nil || len(fm.fields) != len(o.fields) {
		return false
	}
	for i := range fm.fields {
		if fm.fields[i].Name != o.fields[i].Name {
			return false
		}
	}
	return true
}
