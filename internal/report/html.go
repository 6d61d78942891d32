package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/render"
)

// Assets are the page's template, style and script, and the vendored
// uPlot (see vendor/uplot/VERSION), all inlined into every report.
//
//go:embed page.html.tmpl page.css page.js vendor/uplot/uPlot.iife.min.js vendor/uplot/uPlot.min.css vendor/uplot/LICENSE
var assets embed.FS

// page is what the template sees.
type page struct {
	Data            *Data
	Range, Bucket   string
	Holds           []string
	Sections        []section
	Charts          template.JS // the time series, JSON
	CSS, UPlotCSS   template.CSS
	JS, UPlot       template.JS
	UPlotLicense    string
	GeneratedString string
}

// section is one chart with its numbers.
type section struct {
	ID, Title, Note string
	SVG             template.HTML // a hand-made chart, or
	Plot            bool          // a uPlot time series drawn by page.js from Charts
	Wide            bool          // the table goes below the chart, full width
	Table           table
}

type table struct {
	Cols []tcol
	Rows [][]tcell
}

type tcol struct {
	Name string
	Num  bool
}

// tcell is a table cell: Text, sorted by Sort when set, or HTML.
type tcell struct {
	Text string
	Sort string
	HTML template.HTML
}

// timeChart is a time series for uPlot.
type timeChart struct {
	ID     string   `json:"id"`
	Unit   string   `json:"unit"` // "bytes" or "records"
	X      []int64  `json:"x"`
	Series []series `json:"series"`
}

type series struct {
	Label  string  `json:"label"`
	Color  string  `json:"color"`
	Faint  bool    `json:"faint,omitempty"`
	Values []int64 `json:"values"`
}

// Write renders the report as one self-contained HTML page.
func Write(w io.Writer, d *Data) error {
	tmpl, err := template.New("page.html.tmpl").Funcs(template.FuncMap{"group": group}).ParseFS(assets, "page.html.tmpl")
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	read := func(name string) string {
		b, _ := assets.ReadFile(name) // embedded: cannot fail
		return string(b)
	}
	p := page{
		Data:            d,
		Range:           fmt.Sprintf("%s – %s UTC", d.Since.UTC().Format("2006-01-02 15:04"), d.Until.UTC().Format("2006-01-02 15:04")),
		Bucket:          bucketName(d.Bucket),
		Holds:           holds(d),
		CSS:             template.CSS(read("page.css")),
		UPlotCSS:        template.CSS(read("vendor/uplot/uPlot.min.css")),
		JS:              template.JS(read("page.js")),
		UPlot:           template.JS(read("vendor/uplot/uPlot.iife.min.js")),
		UPlotLicense:    read("vendor/uplot/LICENSE"),
		GeneratedString: d.Generated.UTC().Format("2006-01-02 15:04:05 UTC"),
	}
	var charts []timeChart
	p.Sections, charts = sections(d)
	js, err := json.Marshal(charts)
	if err != nil {
		return fmt.Errorf("report charts: %w", err)
	}
	p.Charts = template.JS(js)
	if err := tmpl.Execute(w, p); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// bucketName is "5-minute", "1-hour", "1-day".
func bucketName(b time.Duration) string {
	switch {
	case b >= 24*time.Hour:
		return fmt.Sprintf("%d-day", int(b/(24*time.Hour)))
	case b >= time.Hour:
		return fmt.Sprintf("%d-hour", int(b/time.Hour))
	}
	return fmt.Sprintf("%d-minute", int(b/time.Minute))
}

// holds says in sentences what the report holds.
func holds(d *Data) []string {
	s := d.Summary
	if s.Records == 0 {
		return []string{"This range holds no flow-log records: every chart below is empty."}
	}
	out := []string{fmt.Sprintf("%s records from %s interfaces, first %s, last %s UTC: %s OK, %s NODATA, %s SKIPDATA; %s accepted, %s rejected; %s in %s packets.",
		group(s.Records), group(s.Interfaces), unixUTC(s.First), unixUTC(s.Last), group(s.OK), group(s.NoData), group(s.SkipData),
		group(s.Accepted), group(s.Rejected), render.Bytes(s.Bytes), group(s.Packets))}
	var vs []string
	for _, v := range s.Versions {
		if v == 0 {
			vs = append(vs, "no version field")
		} else {
			vs = append(vs, fmt.Sprint(v))
		}
	}
	share := func(n int64) string {
		switch n {
		case 0:
			return "none"
		case s.Records:
			return "all"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(s.Records))
	}
	out = append(out, fmt.Sprintf("Flow-log versions: %s. Records with flow-direction: %s; with traffic-path: %s; with pkt-dst-aws-service: %s.",
		strings.Join(vs, ", "), share(s.WithDirection), share(s.WithPath), share(s.WithService)))
	return out
}

func unixUTC(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05") }

func bytesCell(n int64) tcell { return tcell{Text: render.Bytes(n), Sort: fmt.Sprint(n)} }
func numCell(n int64) tcell   { return tcell{Text: group(n), Sort: fmt.Sprint(n)} }
func textCell(s string) tcell { return tcell{Text: s} }
func timeCell(t int64) tcell {
	return tcell{Text: time.Unix(t, 0).UTC().Format("2006-01-02 15:04"), Sort: fmt.Sprint(t)}
}

// named is "addr (name)" or addr.
func named(addr, name string) string {
	if name == "" {
		return addr
	}
	return addr + " (" + name + ")"
}
