package main

import "github.com/spf13/cobra"

// newDetectCmd is a placeholder until its issue lands; it is replaced whole.
func newDetectCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "detect", Short: "(not built yet)", Hidden: true,
		RunE: func(*cobra.Command, []string) error { return usageError("flowq detect is not built yet") }}
}
