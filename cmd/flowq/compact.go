package main

import "github.com/spf13/cobra"

// newCompactCmd is a placeholder until its issue lands; it is replaced whole.
func newCompactCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "compact", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq compact is not built yet") }}
}
