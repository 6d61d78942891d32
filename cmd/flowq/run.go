package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/queries"
)

func newRunCmd(a *app) *cobra.Command {
	var rf resultFlags
	var params []string
	var printSQL bool
	cmd := &cobra.Command{
		Use:   "run NAME [--param k=v]... [--since T] [--until T] [-o FORMAT]",
		Short: "Run a named query over the lake",
		Long: `Run one of flowq's named queries (see 'flowq list') over the lake's flows
view. Parameters are typed: --param values are checked (integers, CIDRs, IP
addresses) and passed as quoted SQL literals, never pasted as raw text.

--since and --until restrict the flows and prune the lake's hourly
partitions. --sql prints the query with its parameters instead of running it.`,
		Example: `  flowq run top-talkers --since 24h
  flowq run rejected-from-subnet --param cidr=10.0.12.0/24
  flowq run exfil-candidates --param threshold=50000000 -o json
  flowq run flows-for-ip --param ip=203.0.113.77 --since 2026-11-17 --until 2026-11-18`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := queries.Get(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			kv, err := queries.ParseArgs(params)
			if err != nil {
				return usageError("%v", err)
			}
			sql, err := q.Render(kv)
			if err != nil {
				if errors.Is(err, queries.ErrParam) {
					return usageError("%v", err)
				}
				return err
			}
			if printSQL {
				fmt.Fprintln(a.stdout, sql)
				return nil
			}
			tr, oo, err := rf.parse(a)
			if err != nil {
				return err
			}
			return a.runSQL(cmd.Context(), sql, tr, oo)
		},
	}
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "query parameter NAME=VALUE (repeatable; see 'flowq list')")
	cmd.Flags().BoolVar(&printSQL, "sql", false, "print the SQL with its parameters and exit")
	rf.add(cmd.Flags())
	return cmd
}
