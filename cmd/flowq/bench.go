package main

import "github.com/spf13/cobra"

// newBenchCmd is a placeholder until its issue lands; it is replaced whole.
func newBenchCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq bench is not built yet") }}
}
