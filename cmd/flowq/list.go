package main

import "github.com/spf13/cobra"

// newListCmd is a placeholder until its issue lands; it is replaced whole.
func newListCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "list", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq list is not built yet") }}
}
