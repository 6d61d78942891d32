package lakescan

import (
	"fmt"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/render"
)

// Summary is one line on a Run for people: records and files read, the
// alerts by detector, what was counted or skipped rather than judged, and
// the time taken. span names the range ("all time" when empty).
func (st Stats) Summary(s detect.Summary, span string, elapsed time.Duration) string {
	if span == "" {
		span = "all time"
	}
	var by []string
	for _, name := range detect.AllDetectors() {
		if n := s.Alerts[name]; n > 0 {
			by = append(by, fmt.Sprintf("%s %d", name, n))
		}
	}
	plural := "s"
	if st.Alerts == 1 {
		plural = ""
	}
	msg := fmt.Sprintf("%s records in %d files (%s), %d alert%s", render.Count(s.Records), st.Files, span, st.Alerts, plural)
	if len(by) > 0 {
		msg += " (" + strings.Join(by, ", ") + ")"
	}
	msg += fmt.Sprintf("; %s REJECT records from outside the watched networks counted, not alerted; %s NODATA/SKIPDATA skipped; %.1fs",
		render.Count(s.InboundRejects), render.Count(s.Skipped), elapsed.Seconds())
	if s.Late > 0 {
		msg += fmt.Sprintf("; %s records older than --retention not judged", render.Count(s.Late))
	}
	return msg
}
