package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/store"
)

func newInventoryCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Snapshots of the VPC's network configuration, kept with the lake",
		Long: `flowq inventory keeps timestamped snapshots of the network (interfaces,
subnets, security groups and their rules, network ACLs, route tables, NAT
gateways, VPC endpoints, prefix lists) beside the lake, outside the flow
partitions. Every snapshot is kept, so a flow is judged against the
configuration of its own time: flowq explain and the policy detector pick
the newest snapshot taken at or before the flow.`,
		Args: argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newInventorySyncCmd(a), newInventoryListCmd(a))
	return cmd
}

func newInventorySyncCmd(a *app) *cobra.Command {
	var region, vpcID string
	cmd := &cobra.Command{
		Use:   "sync [--region R] [--vpc-id V]",
		Short: "Read the network through the EC2 API and store a snapshot",
		Long: `Read the network configuration through the EC2 API (Describe* calls, paginated
and concurrent; read-only permissions suffice: ec2:Describe*,
ec2:GetManagedPrefixListEntries) and store it as a snapshot in the lake.
Credentials and region come from the usual AWS sources; AWS_ENDPOINT_URL
points the client elsewhere (moto, LocalStack).`,
		Example: `  flowq inventory sync --region us-east-1 --vpc-id vpc-0abc123
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 flowq inventory sync`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			opts := []func(*config.LoadOptions) error{}
			if region != "" {
				opts = append(opts, config.WithRegion(region))
			}
			cfg, err := config.LoadDefaultConfig(ctx, opts...)
			if err != nil {
				return fmt.Errorf("aws config: %w", err)
			}
			if cfg.Region == "" {
				return usageError("no AWS region: pass --region or set AWS_REGION")
			}
			lake, err := store.Open(ctx, a.lake, store.Options{Create: true})
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			start := time.Now()
			snap, name, err := ec2sync.SyncTo(ctx, ec2.NewFromConfig(cfg), lake, ec2sync.Options{Region: cfg.Region, VPCID: vpcID, Logger: log})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "inventory %s: %s in %s\n", name, snap.Summary(), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "AWS region (default: AWS_REGION or the profile's)")
	cmd.Flags().StringVar(&vpcID, "vpc-id", "", "only this VPC (default: every VPC of the region)")
	return cmd
}

func newInventoryListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stored snapshots, oldest first",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			lake, err := store.Open(cmd.Context(), a.lake, store.Options{})
			if err != nil {
				return err
			}
			arch, err := inventory.OpenArchive(cmd.Context(), lake, 1)
			if err != nil {
				return err
			}
			times := arch.Times()
			if len(times) == 0 {
				return inventory.ErrNoSnapshot
			}
			for _, t := range times {
				fmt.Fprintln(a.stdout, t.Format(time.RFC3339Nano))
			}
			return nil
		},
	}
}
