package parse

import "bytes"

// isHeader recognises an S3 header line: every token a field name, the first
// one known. It switches the format if the header declares a new one.
func (r *Reader) isHeader(line []byte) bool {
	end := bytes.IndexByte(line, ' ')
	if end < 0 {
		end = len(line)
	}
	if _, ok := r.names[string(line[:end])]; !ok || !headerChars(line) {
		return false
	}
	fm, unknown, err := FromHeader(string(line))
	if err != nil {
		return false
	}
	r.stats.Headers++
	for _, u := range unknown {
		if r.opts.OnWarning != nil {
			r.opts.OnWarning(&LineError{File: r.opts.Name, Line: r.lineNo, Field: u, Reason: ReasonUnknownField,
				Detail: "in header line; kept as a string column"})
		}
	}
	if fm.Equal(r.fm) {
		return true
	}
	if r.rows == 0 {
		r.setFormat(fm)
	} else {
		r.next = fm
	}
	return true
}

// headerChars reports whether line has only the bytes of field names and
// spaces.
func headerChars(line []byte) bool {
	for _, c := range line {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ' ') {
			return false
		}
	}
	return true
}

// HeaderFormat recognises a header line (line 1 of the files AWS delivers
// to S3) as the Reader does: every token a field name, the first one
// known. It returns the format the line declares.
func HeaderFormat(line []byte) (*Format, bool) {
	line = bytes.TrimRight(bytes.TrimLeft(line, " "), " \r")
	first, _, _ := bytes.Cut(line, []byte{' '})
	if fd, ok := Lookup(string(first)); !ok || fd.Name != string(first) || !headerChars(line) {
		return nil, false
	}
	fm, _, err := FromHeader(string(line))
	return fm, err == nil
}
