// Command flowq parses, stores, queries and watches AWS VPC Flow Logs.
//
// Every subcommand lives in its own file as newXCmd(*app) *cobra.Command and
// writes only to the app's writers, so tests drive the whole CLI in-process
// through run.
package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version string

// buildVersion returns flowq's version: the ldflags value, else the module
// version and VCS revision Go recorded.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if version != "" || !ok {
		return cmp.Or(version, "devel")
	}
	v := strings.Replace(bi.Main.Version, "(devel)", "devel", 1)
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 && !strings.Contains(v, s.Value[:12]) {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return cmp.Or(v, "devel") + " " + bi.GoVersion
}

// Exit statuses, as the README states them.
const (
	exitOK       = 0
	exitRejected = 1 // ran, but some input lines were rejected, or the command failed (unreadable input, bad SQL)
	exitUsage    = 2 // bad flags or arguments, unknown command
)

// app holds what every subcommand shares: the I/O streams and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lake           string // --lake, default $FLOWQ_LAKE or ./flowlake
	getenv         func(string) string
}

// exitError carries an exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError marks an error as the user's: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// errRejected is returned after a command finished but rejected some lines;
// the lines themselves were already reported.
var errRejected = &exitError{code: exitRejected}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run executes flowq with the given arguments and streams and returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "flowq:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "flowq:", err)
	return exitRejected
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "flowq",
		Short: "Turn AWS VPC Flow Logs into alerts and a queryable Parquet history",
		Long: `flowq parses AWS VPC Flow Logs (every field of versions 2-11, any custom
format), keeps them as compact Parquet in a Hive-partitioned lake (a local
directory or s3://bucket/prefix), queries that history with DuckDB, and runs
the same REJECT, exfiltration, port-scan and policy detectors as the ingest
Lambda.

Start with:
  flowq demo                      a day of synthetic traffic, end to end (own lake: ./flowq-demo)
  flowq parse flows.log.gz        flow-log text to JSON Lines
  flowq ingest ./AWSLogs          files delivered by AWS to S3 into the lake
  flowq list                      the named queries
  flowq run top-talkers --since 24h
  flowq query "SELECT action, count(*) FROM flows GROUP BY ALL"
  flowq detect --since 24h        the detectors over the lake's history
  flowq inventory sync            snapshot the VPC (names in alerts, the policy detector)
  flowq explain --src 10.0.11.51 --dst 10.0.21.100 --dst-port 22
  flowq report --since 24h        one HTML page of the traffic and its alerts

The lake is ./flowlake unless --lake or FLOWQ_LAKE names another directory
or s3://bucket/prefix. Times are UTC everywhere.

Exit status: 0 success; 1 the command failed (unreadable input, bad SQL) or
rejected some input lines (reported as FILE:LINE: reason); 2 usage error
(unknown command, bad flag or argument).`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Without a command: the help. An unknown command is a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for flowq", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return usageHint(cmd, errors.New(msg))
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("flowq {{.Version}}\n")
	lakeDefault := a.getenv("FLOWQ_LAKE")
	if lakeDefault == "" {
		lakeDefault = "./flowlake"
	}
	root.PersistentFlags().StringVar(&a.lake, "lake", lakeDefault, "lake location: a directory or s3://bucket/prefix (env FLOWQ_LAKE)")
	root.SetFlagErrorFunc(usageHint)
	for _, sub := range commands(a) {
		root.AddCommand(sub)
	}
	return root
}

// commands lists the subcommands, each built in its own file.
func commands(a *app) []*cobra.Command {
	return []*cobra.Command{
		newParseCmd(a),
		newBenchCmd(a),
		newIngestCmd(a),
		newQueryCmd(a),
		newRunCmd(a),
		newListCmd(a),
		newCompactCmd(a),
		newDetectCmd(a),
		newDemoCmd(a),
		newInventoryCmd(a),
		newExplainCmd(a),
		newReportCmd(a),
		newSourcesCmd(a),
	}
}

// argsUsage turns cobra's argument errors into usage errors.
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageHint(cmd, err)
		}
		return nil
	}
}

// usageHint makes err a usage error that says where cmd's help is.
func usageHint(cmd *cobra.Command, err error) error {
	return &exitError{code: exitUsage, err: fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath())}
}
