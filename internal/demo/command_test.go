package demo

import "testing"

func TestCommandName(t *testing.T) {
	for arg0, want := range map[string]string{
		"bin/flowq":                "bin/flowq", // after make demo
		"./flowq":                  "./flowq",
		"flowq":                    "flowq", // on PATH
		"/usr/bin/flowq":           "flowq",
		"/tmp/go-build/x/exe/main": "flowq", // go run
		"bin/other":                "flowq",
	} {
		if got := CommandName(arg0); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", arg0, got, want)
		}
	}
}
