package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/declared"
	"github.com/flowq/flowq/internal/inventory/drift"
	"github.com/flowq/flowq/internal/store"
)

// declaredSource turns flowq inventory sync's --declared into the sync's
// Declared option (declared.Source); its errors are usage errors, an
// ambiguous auto included.
func (a *app) declaredSource(ctx context.Context, api declared.SSM, path string) (func(context.Context, *inventory.Snapshot) (*inventory.Declaration, error), error) {
	src, err := declared.Source(ctx, api, path, time.Now, func(msg string) { fmt.Fprintln(a.stderr, "flowq: "+msg) })
	if err != nil {
		return nil, usageError("--declared %v", err)
	}
	if src == nil {
		return nil, nil
	}
	return func(ctx context.Context, s *inventory.Snapshot) (*inventory.Declaration, error) {
		d, err := src(ctx, s)
		if errors.Is(err, declared.ErrAmbiguous) {
			return nil, usageError("--declared: %v: pick one with --declared PATH", err)
		}
		return d, err
	}, nil
}

func driftCount(r drift.Report) string {
	if !r.Drifted() {
		return "none"
	}
	return plural(len(r.Findings), "difference") + " (flowq inventory drift)"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func newInventoryDriftCmd(a *app) *cobra.Command {
	var at, output string
	cmd := &cobra.Command{
		Use:   "drift [--at TIME] [-o table|json]",
		Short: "Rules changed outside the code: declared vs live security groups and network ACLs",
		Long: `Compare the security groups and network ACLs the deployment declares (as
flowq inventory sync stored them with the snapshot) with their live rules
in the same snapshot: rules added outside the code, rules removed outside
the code, declared groups or ACLs that no longer exist. Rules are compared
normalised (tcp or 6, -1 or all, port ranges, canonical CIDRs, IPv6, group
references, prefix lists); descriptions do not count.

The snapshot is the newest, or the one in force at --at. -o json prints one
object: snapshot, declared, security_groups, network_acls and findings
(change, kind, id, name, live_name, direction, rule, sg_rule or acl_entry).

Exit status: 0 no drift; 1 drift found (or the command failed); 2 usage
error. So 'flowq inventory drift || page-someone' works in a cron job.`,
		Example: `  flowq inventory sync && flowq inventory drift
  flowq inventory drift --at 2026-11-29T14:00:00Z -o json`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usageError("--output %q: want table or json", output)
			}
			var when time.Time
			if at != "" {
				var err error
				if when, err = store.ParseTime(at, time.Now()); err != nil {
					return usageError("--at: %v", err)
				}
			}
			ctx := cmd.Context()
			lake, err := store.Open(ctx, a.lake, store.Options{})
			if err != nil {
				return err
			}
			arch, err := inventory.OpenArchive(ctx, lake, 1)
			if err != nil {
				return err
			}
			x, err := arch.AsOf(ctx, when)
			if err != nil {
				return err
			}
			r, err := drift.Of(x.Snap)
			if errors.Is(err, drift.ErrNoDeclaration) {
				return fmt.Errorf("snapshot of %s: %w", x.Snap.Taken.Format(time.RFC3339), err)
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				writeDrift(a, r)
			}
			if r.Drifted() {
				return &exitError{code: exitRejected}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the snapshot in force at this time: RFC 3339, a date, Unix seconds or a duration ago (default: the newest)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func writeDrift(a *app, r drift.Report) {
	taken := r.Snapshot.UTC().Format(time.RFC3339)
	if !r.Drifted() {
		fmt.Fprintf(a.stdout, "no drift: %d security groups and %d network ACLs as declared (snapshot %s, declared %s)\n", r.Groups, r.ACLs, taken, r.Declared)
		return
	}
	fmt.Fprintf(a.stdout, "drift: %s between the declared and the live rules (snapshot %s, declared %s)\n", plural(len(r.Findings), "difference"), taken, r.Declared)
	for _, f := range r.Findings {
		fmt.Fprintln(a.stdout, "  "+f.String())
	}
}
