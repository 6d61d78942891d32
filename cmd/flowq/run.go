package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/queries"
)

func newRunCmd(a *app) *cobra.Command {
	var rf resultFlags
	var params []string
	var printSQL bool
	var at string
	cmd := &cobra.Command{
		Use:   "run NAME [--param k=v]... [--at T] [--since T] [--until T] [-o FORMAT]",
		Short: "Run a named query over the lake",
		Long: `Run one of flowq's named queries (see 'flowq list') over the lake's flows
view. Parameters are typed: --param values are checked (integers, CIDRs, IP
addresses) and passed as quoted SQL literals, never pasted as raw text.

--since and --until restrict the flows and prune the lake's hourly
partitions. --at sets the instant a query judges against (its "at"
parameter, such as log-health's silence): "now" by default, or a past time
to look back. --sql prints the query with its parameters instead of running it.`,
		Example: `  flowq run top-talkers --since 24h
  flowq run rejected-from-subnet --param cidr=10.0.12.0/24
  flowq run exfil-candidates --param threshold=50000000 -o json
  flowq run flows-for-ip --param ip=203.0.113.77 --since 2026-11-17 --until 2026-11-18
  flowq run log-health --at 2026-11-20T12:00:00Z --since 2026-11-19`,
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
			if cmd.Flags().Changed("at") {
				if err := setAt(q, kv, at, time.Now()); err != nil {
					return err
				}
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
	cmd.Flags().StringVar(&at, "at", "now", "the time the query judges against (its at parameter): now, RFC 3339, a date or a duration ago (2h, 1d)")
	rf.add(cmd.Flags())
	return cmd
}

// setAt passes --at as the query's at parameter: "now", or the instant in
// RFC 3339. Errors are usage errors: a query without an at parameter, the
// parameter given twice, or a time that does not parse.
func setAt(q queries.Query, kv map[string]string, at string, now time.Time) error {
	if !slices.ContainsFunc(q.Params, func(p queries.Param) bool { return p.Name == "at" }) {
		var with []string
		for _, o := range queries.List() {
			if slices.ContainsFunc(o.Params, func(p queries.Param) bool { return p.Name == "at" }) {
				with = append(with, o.Name)
			}
		}
		return usageError("--at: %s judges no instant (it has no at parameter); queries that take --at: %s", q.Name, strings.Join(with, ", "))
	}
	if _, ok := kv["at"]; ok {
		return usageError("--at and --param at= both given: use one")
	}
	if strings.TrimSpace(at) == "now" {
		kv["at"] = "now"
		return nil
	}
	t, err := store.ParseTime(at, now)
	if err != nil {
		return usageError("--at: %v", err)
	}
	kv["at"] = t.Format(time.RFC3339)
	return nil
}
