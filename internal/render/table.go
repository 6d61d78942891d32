package render

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// table is a result held whole to be laid out.
type table struct {
	cols    []string
	rows    [][]string
	numeric []bool // right-aligned, never wrapped
	times   []bool // instants: the header says UTC
}

// minWrap is the narrowest a wrapped text column gets.
const minWrap = 12

// header returns column i's heading.
func (t *table) header(i int) string {
	if t.times[i] {
		return t.cols[i] + " (UTC)"
	}
	return t.cols[i]
}

// wrappable reports whether column i is prose that may wrap at spaces:
// text (not numbers, not instants) with a space in some cell. Single
// tokens (addresses, ids, names) never wrap.
func (t *table) wrappable(i int) bool {
	if t.numeric[i] || t.times[i] {
		return false
	}
	for _, r := range t.rows {
		if strings.Contains(r[i], " ") {
			return true
		}
	}
	return false
}

// layout returns each column's width (0 = dropped) for a line of at most
// width runes (0 = no limit). Prose columns shrink (never below their
// longest word or minWrap) widest first; if that is not enough, columns
// are dropped: prose first, then from the right, never the first.
func (t *table) layout(width int) []int {
	n := len(t.cols)
	widths := make([]int, n)
	floor := make([]int, n) // narrowest a column may get
	wrap := make([]bool, n)
	for i := range t.cols {
		widths[i] = runes(t.header(i))
		wrap[i] = t.wrappable(i)
		floor[i] = widths[i]
		for _, r := range t.rows {
			widths[i] = max(widths[i], runes(r[i]))
			if wrap[i] {
				for _, word := range strings.Fields(r[i]) {
					floor[i] = max(floor[i], runes(word))
				}
			} else {
				floor[i] = widths[i]
			}
		}
		if wrap[i] {
			floor[i] = min(widths[i], max(floor[i], minWrap))
		}
	}
	if width <= 0 {
		return widths
	}
	total := func() int {
		sum, shown := 0, 0
		for _, w := range widths {
			if w > 0 {
				sum += w
				shown++
			}
		}
		return sum + 2*(shown-1)
	}
	for total() > width {
		wi := -1
		for i := range widths {
			if wrap[i] && widths[i] > floor[i] && (wi < 0 || widths[i] > widths[wi]) {
				wi = i
			}
		}
		if wi < 0 {
			break
		}
		widths[wi] = max(floor[wi], widths[wi]-(total()-width))
	}
	// Drop, from the right within each class: prose, then columns of
	// little value to a reader (protocol numbers, source ports, versions,
	// account ids), then the rest. The first column stays.
	class := func(i int) int {
		switch {
		case wrap[i]:
			return 0
		case lowValue(t.cols[i]):
			return 1
		}
		return 2
	}
	for c := range 3 {
		for i := n - 1; i > 0 && total() > width; i-- {
			if widths[i] > 0 && class(i) == c {
				widths[i] = 0
			}
		}
	}
	return widths
}

// lowValue reports whether a column is one a reader misses least.
func lowValue(col string) bool {
	switch strings.ToLower(col) {
	case "version", "account_id", "protocol", "srcport", "tcp_flags", "type", "log_status", "traffic_path", "az_id", "region", "sublocation_type", "sublocation_id":
		return true
	}
	return false
}

// write writes the table aligned to width (0 = no limit).
func (t *table) write(w io.Writer, width int) {
	widths := t.layout(width)
	heads := make([]string, len(t.cols))
	rule := make([]string, len(t.cols))
	for i := range t.cols {
		heads[i] = t.header(i)
		rule[i] = strings.Repeat("-", widths[i])
	}
	t.line(w, widths, heads, true)
	t.line(w, widths, rule, true)
	for _, r := range t.rows {
		t.line(w, widths, r, false)
	}
	var dropped []string
	for i, wd := range widths {
		if wd == 0 {
			dropped = append(dropped, t.cols[i])
		}
	}
	if len(dropped) > 0 {
		fmt.Fprintf(w, "(%d column%s left out to fit %d characters: %s; use -o csv or -o json, or a wider terminal, to see them)\n",
			len(dropped), plural(len(dropped)), width, strings.Join(dropped, ", "))
	}
}

// line writes one row, as several lines when a cell wraps.
func (t *table) line(w io.Writer, widths []int, cells []string, header bool) {
	parts := make([][]string, len(cells))
	height := 1
	for i, s := range cells {
		if widths[i] == 0 {
			continue
		}
		parts[i] = wrapText(s, widths[i])
		height = max(height, len(parts[i]))
	}
	last := len(cells) - 1
	for last > 0 && widths[last] == 0 {
		last--
	}
	for k := range height {
		var b strings.Builder
		first := true
		for i := range cells {
			if widths[i] == 0 {
				continue
			}
			if !first {
				b.WriteString("  ")
			}
			first = false
			s := ""
			if k < len(parts[i]) {
				s = parts[i][k]
			}
			pad := strings.Repeat(" ", max(0, widths[i]-runes(s)))
			switch {
			case t.numeric[i] && !header:
				b.WriteString(pad + s)
			case i == last:
				b.WriteString(s)
			default:
				b.WriteString(s + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// wrapText splits s at spaces into lines of at most width runes; a word
// longer than width stays whole on its own line.
func wrapText(s string, width int) []string {
	if runes(s) <= width {
		return []string{s}
	}
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = word
		case runes(cur)+1+runes(word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	return append(lines, cur)
}

// markdown writes a GitHub-flavoured Markdown table.
func (t *table) markdown(w io.Writer) {
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	var b strings.Builder
	b.WriteString("|")
	for _, c := range t.cols {
		b.WriteString(" " + esc.Replace(c) + " |")
	}
	b.WriteString("\n|")
	for i := range t.cols {
		if t.numeric[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		b.WriteString("|")
		for _, s := range r {
			b.WriteString(" " + esc.Replace(s) + " |")
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
