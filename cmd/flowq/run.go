package main

import "github.com/spf13/cobra"

// newRunCmd is a placeholder until its issue lands; it is replaced whole.
func newRunCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "run", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq run is not built yet") }}
}
