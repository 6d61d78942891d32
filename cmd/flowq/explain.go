package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/policy"
	"github.com/flowq/flowq/internal/store"
)

func newExplainCmd(a *app) *cobra.Command {
	var src, dst, proto, at, output string
	var dstPort, srcPort int
	cmd := &cobra.Command{
		Use:   "explain --src A --dst B --dst-port P [--protocol tcp|udp|N] [--at TIME]",
		Short: "Would the network's rules allow a flow? Which layer and rule decide",
		Long: `Evaluate the route tables, network ACLs (stateless: both directions, in
rule-number order, the replies to the client's ephemeral port) and security
groups (stateful: CIDRs, group references, prefix lists) of both ends, as
the inventory snapshot in force at --at recorded them, and print the
verdict (allow or deny), the deciding layer (route, network-acl,
security-group) and rule, then every check on the path.

Run 'flowq inventory sync' first. -o json prints one object with verdict,
layer, rule, both ends and the steps.`,
		Example: `  flowq explain --src 10.0.11.51 --dst 10.0.21.100 --dst-port 22
  flowq explain --src 203.0.113.5 --dst 10.0.1.25 --dst-port 443 --at 2026-11-29T14:00:00Z -o json`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := policy.Query{DstPort: dstPort, SrcPort: srcPort}
			var err error
			if q.Src, err = netip.ParseAddr(src); err != nil {
				return usageError("--src %q: want an IPv4 or IPv6 address", src)
			}
			if q.Dst, err = netip.ParseAddr(dst); err != nil {
				return usageError("--dst %q: want an IPv4 or IPv6 address", dst)
			}
			n, ok := inventory.ProtocolNumber(strings.ToLower(proto)) // TCP as tcp
			if !ok || n < 0 {
				return usageError("--protocol %q: want tcp, udp, icmp, icmpv6 or a number 0-255", proto)
			}
			q.Protocol = n
			if (n == 6 || n == 17) && !cmd.Flags().Changed("dst-port") {
				return usageError("--dst-port is required for %s", proto)
			}
			if err := q.Validate(); err != nil {
				return usageError("%v", err)
			}
			if output != "table" && output != "json" {
				return usageError("--output %q: want table or json", output)
			}
			var when time.Time
			if at != "" {
				if when, err = store.ParseTime(at, time.Now()); err != nil {
					return usageError("--at: %v", err)
				}
			}
			ctx := cmd.Context()
			lake, err := store.Open(ctx, a.lake, store.Options{})
			if err != nil {
				return err
			}
			res, err := policy.ExplainAt(ctx, lake, when, q)
			if err != nil {
				return err
			}
			if !when.IsZero() && res.Snapshot.After(when) {
				fmt.Fprintf(a.stderr, "flowq: no inventory snapshot at or before %s: judged against the first, of %s\n",
					when.UTC().Format(time.RFC3339), res.Snapshot.UTC().Format(time.RFC3339))
			}
			if output == "json" {
				return res.WriteJSON(a.stdout)
			}
			return res.WriteText(a.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&src, "src", "", "source address (the client)")
	f.StringVar(&dst, "dst", "", "destination address")
	f.IntVar(&dstPort, "dst-port", 0, "destination port (required for tcp and udp)")
	f.IntVar(&srcPort, "src-port", 0, "the client's port, for the network ACLs' return path (default 49152, an ephemeral port)")
	f.StringVar(&proto, "protocol", "tcp", "tcp, udp, icmp, icmpv6 or an IANA protocol number")
	f.StringVar(&at, "at", "", "judge against the snapshot in force at this time: RFC 3339, a date, Unix seconds or a duration ago (default: the newest)")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	_ = cmd.MarkFlagRequired("src")
	_ = cmd.MarkFlagRequired("dst")
	return cmd
}
