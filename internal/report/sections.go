package report

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/render"
)

// sections lays out every chart with its table, in page order, and the
// time series page.js draws.
func sections(d *Data) ([]section, []timeChart) {
	bucket := bucketName(d.Bucket)
	var charts []timeChart
	var out []section

	x := make([]int64, len(d.Traffic))
	for i, p := range d.Traffic {
		x[i] = p.T
	}
	pick := func(ps []TrafficPoint, f func(TrafficPoint) int64) []int64 {
		v := make([]int64, len(x))
		for i := range v {
			if i < len(ps) {
				v[i] = f(ps[i])
			}
		}
		return v
	}
	acceptFlows := func(p TrafficPoint) int64 { return p.AcceptFlows }
	rejectFlows := func(p TrafficPoint) int64 { return p.RejectFlows }
	acceptBytes := func(p TrafficPoint) int64 { return p.AcceptBytes }
	rejectBytes := func(p TrafficPoint) int64 { return p.RejectBytes }
	for _, c := range []struct {
		id, unit, what string
		acc, rej       func(TrafficPoint) int64
	}{
		{"flows", "records", "Records", acceptFlows, rejectFlows},
		{"bytes", "bytes", "Bytes", acceptBytes, rejectBytes},
	} {
		charts = append(charts, timeChart{ID: c.id, Unit: c.unit, X: x, Series: []series{
			{Label: "accepted", Color: colBlue, Values: pick(d.Traffic, c.acc)},
			{Label: "rejected", Color: colVermilion, Values: pick(d.Traffic, c.rej)},
			{Label: "accepted, previous period", Color: colBlue, Faint: true, Values: pick(d.Previous, c.acc)},
			{Label: "rejected, previous period", Color: colVermilion, Faint: true, Values: pick(d.Previous, c.rej)},
		}})
		t := table{Cols: []tcol{{"bucket start (UTC)", false}, {"accepted", true}, {"rejected", true}, {"prev. acc.", true}, {"prev. rej.", true}}}
		for i, p := range d.Traffic {
			var prev TrafficPoint
			if i < len(d.Previous) {
				prev = d.Previous[i]
			}
			cell := numCell
			if c.unit == "bytes" {
				cell = bytesCell
			}
			t.Rows = append(t.Rows, []tcell{timeCell(p.T), cell(c.acc(p)), cell(c.rej(p)), cell(c.acc(prev)), cell(c.rej(prev))})
		}
		out = append(out, section{ID: c.id, Plot: true, Table: t,
			Title: fmt.Sprintf("%s accepted and rejected (%s per %s bucket, UTC)", c.what, c.unit, bucket),
			Note:  "Faint dashed lines: the previous period of equal length, moved onto this one."})
	}

	dir, dirTable := directionSeries(d, x)
	charts = append(charts, dir)
	note := "Direction and path as the records give them (flow-direction and traffic-path, format version 5)."
	if d.Summary.WithDirection == 0 && d.Summary.Records > 0 {
		note = "This lake's records carry no flow-direction field (format version 5): their bytes are shown as 'direction unknown'."
	}
	out = append(out, section{ID: "direction", Plot: true, Table: dirTable, Note: note,
		Title: fmt.Sprintf("Egress and ingress bytes by traffic path (bytes per %s bucket, UTC)", bucket)})

	out = append(out, pairsSection(d), hostsSection(d), sankeySection(d), heatmapSection(d), alertsSection(d), healthSection(d))
	return out, charts
}

// directionSeries pivots the direction points into one series per
// direction and path.
func directionSeries(d *Data, x []int64) (timeChart, table) {
	idx := map[int64]int{}
	for i, t := range x {
		idx[t] = i
	}
	type key struct {
		dir  string
		path int
	}
	vals := map[key][]int64{}
	tot := map[key]int64{}
	for _, p := range d.Direction {
		k := key{p.Direction, p.Path}
		if vals[k] == nil {
			vals[k] = make([]int64, len(x))
		}
		if i, ok := idx[p.T]; ok {
			vals[k][i] += p.Bytes
		}
		tot[k] += p.Bytes
	}
	keys := make([]key, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.dir, b.dir), cmp.Compare(a.path, b.path)) })
	label := func(k key) string {
		s := k.dir
		if s == "" {
			s = "direction unknown"
		}
		if k.path != 0 {
			s += fmt.Sprintf(" · path %d", k.path)
			if n := PathName(k.path); n != "" {
				s += " " + n
			}
		}
		return s
	}
	c := timeChart{ID: "direction", Unit: "bytes", X: x, Series: []series{}}
	t := table{Cols: []tcol{{"direction · traffic path", false}, {"bytes", true}, {"share", true}}}
	var all int64
	for _, k := range keys {
		all += tot[k]
	}
	for i, k := range keys {
		c.Series = append(c.Series, series{Label: label(k), Color: palette(i), Values: vals[k]})
		share := 0.0
		if all > 0 {
			share = 100 * float64(tot[k]) / float64(all)
		}
		t.Rows = append(t.Rows, []tcell{textCell(label(k)), bytesCell(tot[k]), {Text: fmt.Sprintf("%.1f%%", share), Sort: fmt.Sprint(share)}})
	}
	return c, t
}

func pairsSection(d *Data) section {
	t := table{Cols: []tcol{{"source", false}, {"destination", false}, {"bytes", true}, {"packets", true}, {"records", true}}}
	rows := make([]barRow, 0, len(d.Pairs))
	for _, p := range d.Pairs {
		t.Rows = append(t.Rows, []tcell{textCell(named(p.Src, p.SrcName)), textCell(named(p.Dst, p.DstName)), bytesCell(p.Bytes), numCell(p.Packets), numCell(p.Flows)})
		rows = append(rows, barRow{label: named(p.Src, p.SrcName) + " → " + named(p.Dst, p.DstName), parts: []int64{p.Bytes}})
	}
	return section{ID: "pairs", Title: fmt.Sprintf("Top %d talker pairs (bytes, whole range)", len(d.Pairs)), Table: t,
		Note: "Bytes as logged: a flow between two logged interfaces is counted by each.",
		SVG:  bars(rows, []string{colBlue}, render.Bytes)}
}

func hostsSection(d *Data) section {
	t := table{Cols: []tcol{{"host", false}, {"sent", true}, {"received", true}, {"total", true}, {"records", true}}}
	rows := make([]barRow, 0, len(d.Hosts))
	for _, h := range d.Hosts {
		t.Rows = append(t.Rows, []tcell{textCell(named(h.Addr, h.Name)), bytesCell(h.Sent), bytesCell(h.Received), bytesCell(h.Sent + h.Received), numCell(h.Flows)})
		rows = append(rows, barRow{label: named(h.Addr, h.Name), parts: []int64{h.Sent, h.Received}})
	}
	return section{ID: "hosts", Title: fmt.Sprintf("Top %d hosts (bytes sent and received, whole range)", len(d.Hosts)), Table: t,
		Note: "Blue: sent; orange: received.", SVG: bars(rows, []string{colBlue, colOrange}, render.Bytes)}
}

func sankeySection(d *Data) section {
	t := table{Cols: []tcol{{"from", false}, {"to", false}, {"bytes", true}, {"records", true}}}
	for _, l := range d.Sankey {
		t.Rows = append(t.Rows, []tcell{textCell(l.From), textCell(l.To), bytesCell(l.Bytes), numCell(l.Flows)})
	}
	return section{ID: "sankey", Title: "Bytes from source subnet to destination group (bytes, whole range)", Table: t,
		Note: "Private addresses by /24 (the VPC's own subnets), AWS services by pkt-dst-aws-service, everything else 'internet'; the groups past the 8 busiest on each side are 'other'.",
		SVG:  sankeyChart(d.Sankey)}
}

func heatmapSection(d *Data) section {
	t := table{Cols: []tcol{{"port", false}, {"total", true}}}
	for h := range 24 {
		t.Cols = append(t.Cols, tcol{fmt.Sprintf("%02d", h), true})
	}
	for _, r := range d.Heatmap.Rows {
		row := []tcell{textCell(portName(r.Port, r.Protocol)), numCell(r.Total)}
		for _, c := range r.Hours {
			row = append(row, numCell(c))
		}
		t.Rows = append(t.Rows, row)
	}
	return section{ID: "heatmap", Wide: true, Title: "Rejected records by destination port and hour of day (records, UTC)", Table: t,
		Note: "The busiest rejected destination ports, every day of the range added up by hour.", SVG: heatmapChart(d.Heatmap)}
}

func alertsSection(d *Data) section {
	t := table{Cols: []tcol{{"window start (UTC)", false}, {"detector", false}, {"severity", false}, {"source", false}, {"destination", false},
		{"bytes", true}, {"records", true}, {"evidence", false}}}
	for _, a := range d.Alerts {
		dst := a.Dst
		if dst == "" {
			dst = strings.Join(a.Dsts, ", ")
		}
		t.Rows = append(t.Rows, []tcell{{Text: a.WindowStart.UTC().Format("2006-01-02 15:04"), Sort: fmt.Sprint(a.WindowStart.Unix())},
			textCell(a.Detector), textCell(a.Severity), textCell(a.Src), textCell(dst), bytesCell(a.Bytes), numCell(a.Count), {HTML: evidence(a)}})
	}
	return section{ID: "alerts", Wide: true, Title: fmt.Sprintf("%d alerts on a timeline (window start, UTC)", len(d.Alerts)), Table: t,
		Note: "Each bar is one alert's window; its evidence records are in the table.", SVG: alertChart(d.Alerts, d.Since, d.Until)}
}

// evidence is an alert's title and its evidence records, folded.
func evidence(a detect.Alert) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<details><summary>%s (%d records)</summary><table class="evidence"><tr><th>start (UTC)</th><th>eni</th><th>src</th><th>dst</th><th>port</th><th>bytes</th><th>action</th></tr>`,
		esc(a.Title), len(a.Evidence))
	for _, e := range a.Evidence {
		fmt.Fprintf(&b, `<tr><td>%s</td><td>%s</td><td>%s:%d</td><td>%s:%d</td><td>%s</td><td>%s</td><td>%s</td></tr>`,
			e.Start.UTC().Format("15:04:05"), esc(e.ENI), esc(e.Src), e.SrcPort, esc(e.Dst), e.DstPort, esc(portName(e.DstPort, e.Protocol)),
			esc(render.Bytes(e.Bytes)), esc(e.Action))
	}
	b.WriteString(`</table></details>`)
	return template.HTML(b.String())
}

// healthLimit is the number of interfaces drawn (the table has them all).
const healthLimit = 40

func healthSection(d *Data) section {
	t := table{Cols: []tcol{{"interface", false}, {"status", false}, {"OK", true}, {"NODATA", true}, {"SKIPDATA", true}, {"first (UTC)", false}, {"last (UTC)", false}}}
	for _, in := range d.Health {
		t.Rows = append(t.Rows, []tcell{textCell(in.ENI), textCell(in.Status), numCell(in.OK), numCell(in.NoData), numCell(in.SkipData), timeCell(in.First), timeCell(in.Last)})
	}
	note := "A cell per bucket: green OK, grey NODATA only, vermilion SKIPDATA (records lost), pale no record. SILENT: no record in the range's last hour (or 3 buckets)."
	if len(d.Health) > healthLimit {
		note += fmt.Sprintf(" The %d worst of %d interfaces are drawn; the table has them all.", healthLimit, len(d.Health))
	}
	return section{ID: "health", Title: fmt.Sprintf("Log health of %d interfaces (per %s bucket, UTC)", len(d.Health), bucketName(d.Bucket)), Table: t,
		Note: note, SVG: healthChart(d.Health, d.Since, d.Until, healthLimit)}
}
