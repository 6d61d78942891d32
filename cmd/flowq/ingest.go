package main

import "github.com/spf13/cobra"

// newIngestCmd is a placeholder until its issue lands; it is replaced whole.
func newIngestCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "ingest", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq ingest is not built yet") }}
}
