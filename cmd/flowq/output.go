package main

import (
	"io"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/flowq/flowq/internal/render"
)

// Output formats of results (see internal/render).
const (
	outTable    = string(render.Table)
	outCSV      = string(render.CSV)
	outJSON     = string(render.JSON) // JSON Lines: one object per row
	outMarkdown = string(render.Markdown)
)

// outputOptions say how to render a result.
type outputOptions = render.Options

// addOutputFlag binds --output (-o) on fs.
func addOutputFlag(fs *pflag.FlagSet, format *string) {
	fs.StringVarP(format, "output", "o", outTable, "result format: table, csv, json (JSON Lines) or markdown")
}

// addRawFlag binds --raw on fs.
func addRawFlag(fs *pflag.FlagSet, raw *bool) {
	fs.BoolVar(raw, "raw", false, "exact numbers in tables (1536, not 1.5 kB; 12345, not 12,345)")
}

// outputOptions validates the --output value and sizes tables to the
// terminal when stdout is one.
func (a *app) outputOptions(format string) (outputOptions, error) {
	f, err := render.ParseFormat(format)
	if err != nil {
		return outputOptions{}, usageError("%v", err)
	}
	return outputOptions{Format: f, Width: a.terminalWidth()}, nil
}

// terminal reports whether w is a terminal.
func (a *app) terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth returns stdout's width when it is a terminal, else 0.
func (a *app) terminalWidth() int {
	if f, ok := a.stdout.(*os.File); ok && a.terminal(f) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 0
}
