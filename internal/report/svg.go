package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/render"
)

// Okabe-Ito, a palette that colour-blind readers tell apart.
const (
	colBlue      = "#0072B2"
	colVermilion = "#D55E00"
	colOrange    = "#E69F00"
	colSky       = "#56B4E9"
	colGreen     = "#009E73"
	colYellow    = "#F0E442"
	colPurple    = "#CC79A7"
	colGrey      = "#999999"
)

// palette returns the i-th series colour.
func palette(i int) string {
	p := [...]string{colBlue, colOrange, colGreen, colVermilion, colSky, colPurple, colYellow, "#000000"}
	return p[i%len(p)]
}

const svgWidth = 760

// svg accumulates one chart's SVG.
type svg struct {
	b strings.Builder
}

func newSVG(h int, label string) *svg {
	s := &svg{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, svgWidth, h, esc(label))
	return s
}

func (s *svg) text(x, y float64, anchor, class, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, esc(t))
}

func (s *svg) rect(x, y, w, h float64, fill, title string) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">`, x, y, max(w, 0), max(h, 0), fill)
	if title != "" {
		fmt.Fprintf(&s.b, `<title>%s</title>`, esc(title))
	}
	s.b.WriteString(`</rect>`)
}

func (s *svg) done() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String())
}

func esc(s string) string { return html.EscapeString(s) }

// empty is the drawing of a chart without data: a frame saying so.
func empty(msg string) template.HTML {
	s := newSVG(60, msg)
	s.rect(0, 0, svgWidth, 60, "#f4f4f4", "")
	s.text(svgWidth/2, 35, "middle", "muted", msg)
	return s.done()
}

// barRow is one labelled row of a bar chart; its parts stack.
type barRow struct {
	label string
	parts []int64
	title string
}

// bars draws horizontal stacked bars, one row per item.
func bars(rows []barRow, colors []string, unit func(int64) string) template.HTML {
	if len(rows) == 0 {
		return empty("no flows in this range")
	}
	const rowH, labelW, top = 20, 300, 6
	var hi int64
	for _, r := range rows {
		var t int64
		for _, p := range r.parts {
			t += p
		}
		hi = max(hi, t)
	}
	hi = max(hi, 1)
	plotW := float64(svgWidth - labelW - 80)
	s := newSVG(max(top+rowH*len(rows)+4, 48), "bar chart")
	for i, r := range rows {
		y := float64(top + i*rowH)
		s.text(labelW-6, y+13, "end", "label", r.label)
		x, tot := float64(labelW), int64(0)
		for j, p := range r.parts {
			w := float64(p) / float64(hi) * plotW
			s.rect(x, y+2, w, rowH-5, colors[j%len(colors)], r.title)
			x += w
			tot += p
		}
		s.text(x+4, y+13, "start", "value", unit(tot))
	}
	return s.done()
}

// sankeyChart draws the links from source groups (left) to destination
// groups (right), band widths in proportion to bytes.
func sankeyChart(links []Link) template.HTML {
	var total int64
	for _, l := range links {
		total += l.Bytes
	}
	if total == 0 {
		return empty("no bytes in this range")
	}
	order := func(side func(Link) string) ([]string, map[string]int64) {
		tot := map[string]int64{}
		var names []string
		for _, l := range links {
			k := side(l)
			if _, ok := tot[k]; !ok {
				names = append(names, k)
			}
			tot[k] += l.Bytes
		}
		return names, tot
	}
	from, fromTot := order(func(l Link) string { return l.From })
	to, toTot := order(func(l Link) string { return l.To })
	const h, gap, nodeW, labelW = 420.0, 6.0, 12.0, 170.0
	n := max(len(from), len(to))
	scale := (h - 20 - gap*float64(n-1)) / float64(total)
	place := func(names []string, tot map[string]int64) map[string]float64 {
		y, pos := 10.0, map[string]float64{}
		for _, k := range names {
			pos[k] = y
			y += float64(tot[k])*scale + gap
		}
		return pos
	}
	fy, ty := place(from, fromTot), place(to, toTot)
	x0, x1 := labelW, float64(svgWidth)-labelW
	s := newSVG(int(h), "sankey of bytes from source group to destination group")
	fOff, tOff := map[string]float64{}, map[string]float64{}
	fromIdx := map[string]int{}
	for i, k := range from {
		fromIdx[k] = i
	}
	for _, l := range links {
		w := float64(l.Bytes) * scale
		ya := fy[l.From] + fOff[l.From] + w/2
		yb := ty[l.To] + tOff[l.To] + w/2
		fOff[l.From] += w
		tOff[l.To] += w
		xa, xb := x0+nodeW, x1-nodeW
		mid := (xa + xb) / 2
		fmt.Fprintf(&s.b, `<path d="M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f %.1f" stroke="%s" stroke-opacity="0.45" stroke-width="%.1f" fill="none"><title>%s</title></path>`,
			xa, ya, mid, ya, mid, yb, xb, yb, palette(fromIdx[l.From]), max(w, 1),
			esc(fmt.Sprintf("%s → %s: %s, %s flows", l.From, l.To, render.Bytes(l.Bytes), group(l.Flows))))
	}
	for i, k := range from {
		hgt := float64(fromTot[k]) * scale
		s.rect(x0, fy[k], nodeW, max(hgt, 1), palette(i), k)
		s.text(x0-4, fy[k]+hgt/2+4, "end", "label", k+" "+render.Bytes(fromTot[k]))
	}
	for _, k := range to {
		hgt := float64(toTot[k]) * scale
		s.rect(x1-nodeW, ty[k], nodeW, max(hgt, 1), colGrey, k)
		s.text(x1+4, ty[k]+hgt/2+4, "start", "label", k+" "+render.Bytes(toTot[k]))
	}
	return s.done()
}

// viridis is a perceptually uniform, colour-blind-safe sequential scale.
func viridis(f float64) string {
	stops := [...][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}
	f = math.Max(0, math.Min(1, f)) * float64(len(stops)-1)
	i := min(int(f), len(stops)-2)
	t := f - float64(i)
	c := [3]int{}
	for k := range c {
		c[k] = int(math.Round(stops[i][k] + (stops[i+1][k]-stops[i][k])*t))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// heatmapChart draws rejected records by port (rows) and hour (columns).
func heatmapChart(hm Heatmap) template.HTML {
	if len(hm.Rows) == 0 {
		return empty("no rejected records in this range")
	}
	const labelW, top, cellH = 90.0, 22.0, 18.0
	cellW := (float64(svgWidth) - labelW - 10) / 24
	var hi int64
	for _, r := range hm.Rows {
		for _, c := range r.Hours {
			hi = max(hi, c)
		}
	}
	s := newSVG(int(top+cellH*float64(len(hm.Rows))+30), "heatmap of rejected records by destination port and hour")
	for h := 0; h < 24; h += 3 {
		s.text(labelW+cellW*(float64(h)+0.5), 14, "middle", "muted", fmt.Sprintf("%02d", h))
	}
	for i, r := range hm.Rows {
		y := top + cellH*float64(i)
		s.text(labelW-6, y+13, "end", "label", portName(r.Port, r.Protocol))
		for h, c := range r.Hours {
			fill := "#f4f4f4"
			if c > 0 {
				fill = viridis(1 - math.Sqrt(float64(c)/float64(hi)))
			}
			s.rect(labelW+cellW*float64(h), y, cellW-1, cellH-1, fill,
				fmt.Sprintf("%s, %02d:00-%02d:59 UTC: %s rejected", portName(r.Port, r.Protocol), h, h, group(c)))
		}
	}
	y := top + cellH*float64(len(hm.Rows)) + 18
	s.text(labelW, y, "start", "muted", "hour of day (UTC); colour: rejected records, darker = more (square-root scale), max "+group(hi))
	return s.done()
}

// portName is "22/tcp", "53/udp", "icmp".
func portName(port, proto int) string {
	p := strconv.Itoa(proto)
	switch proto {
	case 6:
		p = "tcp"
	case 17:
		p = "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	case -1:
		p = "?"
	}
	if port < 0 {
		return p
	}
	return strconv.Itoa(port) + "/" + p
}

// timeAxis draws ticks of the range along the x axis at y.
func timeAxis(s *svg, x0, x1, y float64, since, until time.Time) {
	span := until.Sub(since)
	layout := "15:04"
	if span > 48*time.Hour {
		layout = "01-02"
	}
	for i := 0; i <= 6; i++ {
		t := since.Add(span * time.Duration(i) / 6)
		s.text(x0+(x1-x0)*float64(i)/6, y, "middle", "muted", t.UTC().Format(layout))
	}
}

// alertChart draws the alerts on a timeline, a row per detector.
func alertChart(alerts []detect.Alert, since, until time.Time) template.HTML {
	if len(alerts) == 0 {
		return empty("no alerts in this range")
	}
	var dets []string
	row := map[string]int{}
	for _, d := range detect.AllDetectors() {
		row[d] = len(dets)
		dets = append(dets, d)
	}
	for _, a := range alerts {
		if _, ok := row[a.Detector]; !ok {
			row[a.Detector] = len(dets)
			dets = append(dets, a.Detector)
		}
	}
	const labelW, rowH, top = 110.0, 26.0, 8.0
	x0, x1 := labelW, float64(svgWidth)-20
	span := until.Sub(since).Seconds()
	xOf := func(t time.Time) float64 { return x0 + (x1-x0)*math.Max(0, math.Min(1, t.Sub(since).Seconds()/span)) }
	h := top + rowH*float64(len(dets)) + 24
	s := newSVG(int(h), "timeline of the alerts by detector")
	for i, d := range dets {
		y := top + rowH*float64(i)
		s.rect(x0, y+rowH/2, x1-x0, 1, "#dddddd", "")
		s.text(labelW-6, y+rowH/2+4, "end", "label", d)
	}
	for _, a := range alerts {
		y := top + rowH*float64(row[a.Detector])
		xa := xOf(a.WindowStart)
		w := math.Max(xOf(a.WindowEnd)-xa, 4)
		s.rect(xa, y+4, w, rowH-8, palette(row[a.Detector]), a.WindowStart.UTC().Format("15:04 UTC ")+a.Title)
	}
	timeAxis(s, x0, x1, h-6, since, until)
	return s.done()
}

// healthChart draws one strip per interface: a cell per bucket coloured by
// what the interface logged then.
func healthChart(ifs []Interface, since, until time.Time, limit int) template.HTML {
	if len(ifs) == 0 {
		return empty("no interface logged in this range")
	}
	ifs = ifs[:min(len(ifs), limit)]
	const labelW, rowH, top = 200.0, 16.0, 6.0
	x0, x1 := labelW, float64(svgWidth)-20
	h := top + rowH*float64(len(ifs)) + 24
	s := newSVG(int(h), "log health per interface over time")
	colors := map[byte]string{'o': colGreen, 'n': colGrey, 's': colVermilion, '.': "#eeeeee"}
	names := map[byte]string{'o': "OK", 'n': "NODATA", 's': "SKIPDATA", '.': "no record"}
	for i, in := range ifs {
		y := top + rowH*float64(i)
		s.text(labelW-6, y+12, "end", "label", in.ENI+" "+in.Status)
		n := len(in.Strip)
		if n == 0 {
			continue
		}
		cw := (x1 - x0) / float64(n)
		for j := 0; j < n; {
			k := j
			for k < n && in.Strip[k] == in.Strip[j] {
				k++
			}
			s.rect(x0+cw*float64(j), y+2, cw*float64(k-j), rowH-4, colors[in.Strip[j]], in.ENI+": "+names[in.Strip[j]])
			j = k
		}
	}
	timeAxis(s, x0, x1, h-6, since, until)
	return s.done()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
