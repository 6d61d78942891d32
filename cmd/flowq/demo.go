package main

import "github.com/spf13/cobra"

// newDemoCmd is a placeholder until its issue lands; it is replaced whole.
func newDemoCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq demo is not built yet") }}
}
