package parse

import (
	"fmt"
	"strconv"
)

// DefaultSummaryLines is how many rejected lines a Summary lets the caller
// print one by one before it only counts.
const DefaultSummaryLines = 10

// Summary groups rejected lines by what went wrong, so that a file in the
// wrong format gives one sentence ("all 200,000 lines have 16 fields; the
// format has 14: does the file need --format?") instead of 200,000 errors.
// Feed it every *LineError (Options.OnBadLine), then ask for Report. Not
// safe for concurrent use.
type Summary struct {
	// Lines is how many errors Add asks the caller to print individually
	// (0: DefaultSummaryLines; negative: none).
	Lines int

	seen   int64
	groups map[groupKey]*errorGroup
	order  []*errorGroup
}

type groupKey struct {
	reason    Reason
	field     string
	got, want int
}

type errorGroup struct {
	key   groupKey
	count int64
	first string // the first error of the group, rendered
}

// Add records e and reports whether the caller should print it: true for
// the first Lines errors, false after that (they are summarised by Report).
func (s *Summary) Add(e *LineError) bool {
	if s.groups == nil {
		s.groups = map[groupKey]*errorGroup{}
	}
	k := groupKey{reason: e.Reason, field: e.Field, got: e.got, want: e.want}
	g := s.groups[k]
	if g == nil {
		g = &errorGroup{key: k, first: e.Error()}
		s.groups[k] = g
		s.order = append(s.order, g)
	}
	g.count++
	s.seen++
	return s.seen <= int64(s.limit())
}

func (s *Summary) limit() int {
	switch {
	case s.Lines == 0:
		return DefaultSummaryLines
	case s.Lines < 0:
		return 0
	}
	return s.Lines
}

// Rejected is how many errors were added.
func (s *Summary) Rejected() int64 { return s.seen }

// Report returns one sentence per kind of error, most frequent first; st is
// the totals of the inputs the errors came from (for "all N lines").
func (s *Summary) Report(st Stats) []string {
	if s.seen == 0 {
		return nil
	}
	groups := append([]*errorGroup(nil), s.order...)
	// Stable by count, descending: a handful of groups, insertion sort.
	for i := 1; i < len(groups); i++ {
		for j := i; j > 0 && groups[j].count > groups[j-1].count; j-- {
			groups[j], groups[j-1] = groups[j-1], groups[j]
		}
	}
	lines := st.Records + st.BadLines
	var out []string
	for _, g := range groups {
		out = append(out, g.sentence(lines))
	}
	if n := s.seen - int64(s.limit()); n > 0 {
		out = append(out, Group(n)+" rejected lines were not printed one by one")
	}
	return out
}

func (g *errorGroup) sentence(lines int64) string {
	all := g.count == lines
	who := Group(g.count) + " of " + Group(lines) + " lines"
	if all {
		who = "all " + Group(lines) + " lines"
		if lines == 1 {
			who = "the only line"
		}
	}
	k := g.key
	switch {
	case k.reason == ReasonFieldCount:
		verb := " have "
		if g.count == 1 {
			verb = " has "
		}
		msg := fmt.Sprintf("%s%s%d fields; the format has %d", who, verb, k.got, k.want)
		if all {
			return msg + ": does the file need --format?"
		}
		return msg + " (first: " + g.first + ")"
	case k.field != "":
		return fmt.Sprintf("%s: field %s: %v (first: %s)", who, k.field, k.reason.Err(), g.first)
	}
	return fmt.Sprintf("%s: %v (first: %s)", who, k.reason.Err(), g.first)
}

// Group formats n with thousands separators: 200000 → "200,000".
func Group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return neg + string(b)
}
