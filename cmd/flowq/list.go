package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/render"
	"github.com/flowq/flowq/queries"
)

func newListCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list [-o FORMAT]",
		Short: "List the named queries and their parameters",
		Long: `List the named queries 'flowq run' knows: name, what it answers, and its
parameters as NAME=DEFAULT (override with --param NAME=VALUE; NAME=<type>
is required).`,
		Example: `  flowq list
  flowq list -o json | jq -r .name`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			oo, err := a.outputOptions(output)
			if err != nil {
				return err
			}
			var rows [][]any
			for _, q := range queries.List() {
				rows = append(rows, []any{q.Name, q.Description, q.ParamSummary()})
			}
			if err := render.Write(a.stdout, []string{"name", "description", "params"}, rows, oo); err != nil {
				return err
			}
			if oo.Format == render.Table {
				fmt.Fprintln(a.stdout, "\nRun one with: flowq run NAME [--param NAME=VALUE]... [--since 24h]")
			}
			return nil
		},
	}
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}
