package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var screenshot = flag.String("screenshot", "", "also write the day report's screenshot here (PNG), e.g. for the README")

// chromium returns the browser's path, or skips (fails under CI=true)
// with how to install it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed: apt-get update && apt-get install -y chromium (or make tools)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pageCheck is what the page says about itself once loaded.
type pageCheck struct {
	Drawn  bool         `json:"drawn"`
	Charts []chartCheck `json:"charts"`
	Sorted bool         `json:"sorted"`
	Copied bool         `json:"copied"`
	Holds  string       `json:"holds"`
}

type chartCheck struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`   // canvas or svg
	Marks  int    `json:"marks"`  // painted pixels or drawn SVG elements
	Height int    `json:"height"` // on screen
	Rows   int    `json:"rows"`   // of its table
}

// checkJS inspects every chart: a canvas with painted pixels or an SVG with
// shapes, its table's rows; and sorts the first numeric column of the
// top-pairs table and presses its copy button to see the handlers work.
const checkJS = `(() => {
  const charts = [];
  document.querySelectorAll('section.chart').forEach(s => {
    const fig = s.querySelector('figure');
    const c = fig.querySelector('canvas'), svg = fig.querySelector('svg');
    let kind = '', marks = 0, h = 0;
    if (c) {
      kind = 'canvas'; h = c.getBoundingClientRect().height;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) marks++;
    } else if (svg) {
      kind = 'svg'; h = svg.getBoundingClientRect().height;
      marks = svg.querySelectorAll('rect, path, text, circle, line').length;
    }
    charts.push({id: s.id, kind, marks, height: Math.round(h), rows: s.querySelectorAll('table.sortable > tbody > tr').length});
  });
  let sorted = true;
  const th = document.querySelector('#pairs th.num');
  if (th) {
    th.click();
    const col = th.cellIndex;
    const v = Array.from(document.querySelectorAll('#pairs table.sortable > tbody > tr')).map(r => r.cells[col] && r.cells[col].dataset.v).filter(x => x !== undefined).map(Number);
    for (let i = 1; i < v.length; i++) if (v[i - 1] < v[i]) sorted = false;
  }
  const copy = document.querySelector('#pairs button.copy');
  copy.click();
  const copied = copy.textContent === 'Copied';
  return {drawn: document.body.dataset.drawn === 'true', charts, sorted, copied, holds: document.getElementById('holds').textContent};
})()`

// openInChromium loads the page from a file in headless Chromium with the
// network cut off and returns what the page says, the console errors and
// the requests it attempted (besides the page itself), and a screenshot.
func openInChromium(t *testing.T, html []byte) (pageCheck, []string, []string, []byte) {
	t.Helper()
	bin := chromium(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, html, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// No way out: every host fails to resolve, every connection goes to a dead proxy.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"), chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	var mu sync.Mutex
	var errs, requests []string
	url := "file://" + path
	tctx, tcancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				errs = append(errs, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			errs = append(errs, fmt.Sprintf("exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				errs = append(errs, fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			if u := ev.Request.URL; u != url && !strings.HasPrefix(u, "data:") {
				requests = append(requests, u)
			}
		}
	}))
	defer tcancel()
	enable := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(tctx, enable, chromedp.Navigate(url)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	check, err := chromedp.Run(tctx, chromedp.Evaluate[pageCheck](checkJS))
	if err != nil {
		t.Fatalf("check the page: %v", err)
	}
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return check, append([]string(nil), errs...), append([]string(nil), requests...), png
}

func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Chromium check runs in the full test run (make test-go)")
	}
	for _, tc := range reportCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.texts, tc.lakeTR)
			cfg := tc.cfg
			cfg.Source = "testdata lake"
			d, err := Build(context.Background(), Input{DB: f.sql(), Alerts: fixtureAlerts(t, f)}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var page bytes.Buffer
			if err := Write(&page, d); err != nil {
				t.Fatal(err)
			}
			check, errs, requests, png := openInChromium(t, page.Bytes())
			if len(errs) > 0 {
				t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
			}
			if len(requests) > 0 {
				t.Errorf("the page attempted requests: %s", strings.Join(requests, ", "))
			}
			if !check.Drawn {
				t.Error("page.js did not finish")
			}
			want := []string{"flows", "bytes", "direction", "pairs", "hosts", "sankey", "heatmap", "alerts", "health"}
			var got []string
			for _, c := range check.Charts {
				got = append(got, c.ID)
				if c.Marks == 0 || c.Height < 20 {
					t.Errorf("chart %s not drawn: %+v", c.ID, c)
				}
				if c.Rows == 0 {
					t.Errorf("chart %s has no table rows", c.ID)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("charts %v, want %v", got, want)
			}
			if !check.Sorted {
				t.Error("clicking the bytes column of the top pairs did not sort it")
			}
			if !check.Copied {
				t.Error("the copy button of the top pairs did not copy")
			}
			if !strings.Contains(check.Holds, tc.holds) {
				t.Errorf("the page says %q, want it to say %q", check.Holds, tc.holds)
			}
			if tc.name == "day" && *screenshot != "" {
				if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
