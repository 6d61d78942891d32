package main

import "github.com/spf13/cobra"

// newQueryCmd is a placeholder until its issue lands; it is replaced whole.
func newQueryCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "query", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq query is not built yet") }}
}
