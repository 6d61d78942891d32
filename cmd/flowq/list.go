package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/queries"
)

func newListCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list [-o FORMAT]",
		Short: "List the named queries and their parameters",
		Long: `List the named queries 'flowq run' knows: name, what it answers, and its
parameters as NAME=DEFAULT (override with --param NAME=VALUE).`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			oo, err := a.outputOptions(output)
			if err != nil {
				return err
			}
			qs := queries.List()
			switch oo.Format {
			case outJSON:
				for _, q := range qs {
					vals := []any{q.Name, q.Description, paramSummary(q)}
					a.stdout.Write(appendJSONRow(nil, []string{"name", "description", "params"}, vals))
				}
				return nil
			case outCSV, outMarkdown:
				rows := make([][]string, len(qs))
				for i, q := range qs {
					rows[i] = []string{q.Name, q.Description, paramSummary(q)}
				}
				if oo.Format == outMarkdown {
					writeMarkdown(a.stdout, []string{"name", "description", "params"}, rows, make([]bool, 3))
					return nil
				}
				fmt.Fprintln(a.stdout, "name,description,params")
				for _, r := range rows {
					fmt.Fprintf(a.stdout, "%s,%q,%q\n", r[0], r[1], r[2])
				}
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION\tPARAMETERS")
			for _, q := range qs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", q.Name, q.Description, paramSummary(q))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "\nRun one with: flowq run NAME [--param NAME=VALUE]... [--since 24h]")
			return nil
		},
	}
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}

// paramSummary renders a query's parameters as "name=default ...".
func paramSummary(q queries.Query) string {
	var parts []string
	for _, p := range q.Params {
		if p.Required {
			parts = append(parts, p.Name+"=<"+p.Type+">")
		} else {
			parts = append(parts, p.Name+"="+p.Default)
		}
	}
	return strings.Join(parts, " ")
}
