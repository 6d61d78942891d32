package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/drift"
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
the newest snapshot taken at or before the flow. With the rules the
deployment declares stored beside it, flowq inventory drift lists the rules
changed outside the code.`,
		Args: argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newInventorySyncCmd(a), newInventoryListCmd(a), newInventoryDriftCmd(a))
	return cmd
}

func newInventorySyncCmd(a *app) *cobra.Command {
	var region, vpcID, declaredPath string
	cmd := &cobra.Command{
		Use:   "sync [--region R] [--vpc-id V] [--declared PATH]",
		Short: "Read the network through the EC2 API and store a snapshot",
		Long: `Read the network configuration through the EC2 API (Describe* calls, paginated
and concurrent; read-only permissions suffice: ec2:Describe*,
ec2:GetManagedPrefixListEntries) and store it as a snapshot in the lake.
A network that has not changed since the newest snapshot stores nothing
(it says "unchanged since <time>"): that snapshot stays in force.
Credentials and region come from the usual AWS sources; AWS_ENDPOINT_URL
points the client elsewhere (moto, LocalStack).

The snapshot also stores the rules the deployment declares, for flowq
inventory drift: flowq's CDK app publishes its security groups and network
ACLs as SSM parameters under /flowq/<app>/declared (read with
ssm:GetParametersByPath). --declared auto (the default) takes the
deployment under /flowq that declares the synced network's groups, and goes
on without if there is none or SSM cannot be read; --declared PATH reads
that path (if it cannot, the snapshot is stored without them and the
command exits 1); --declared none skips it.`,
		Example: `  flowq inventory sync --region us-east-1 --vpc-id vpc-0abc123
  flowq inventory sync --declared /flowq/tradai/declared
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 flowq inventory sync`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := (ec2sync.Options{VPCID: vpcID}).Validate(); err != nil {
				return usageError("--vpc-id %q: want a VPC ID (vpc-…)", vpcID)
			}
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
			syncOpts := ec2sync.Options{Region: cfg.Region, VPCID: vpcID, Logger: log}
			if syncOpts.Declared, err = a.declaredSource(ctx, ssm.NewFromConfig(cfg), declaredPath); err != nil {
				return err
			}
			snap, st, stored, err := ec2sync.SyncTo(ctx, ec2.NewFromConfig(cfg), lake, syncOpts)
			if st.Name == "" {
				return err
			}
			took := time.Since(start).Round(time.Millisecond)
			if !stored {
				fmt.Fprintf(a.stdout, "inventory unchanged since %s (%s, nothing stored): %s in %s\n", st.Taken.Format(time.RFC3339), st.Name, snap.Summary(), took)
			} else {
				fmt.Fprintf(a.stdout, "inventory %s: %s in %s\n", st.Name, snap.Summary(), took)
			}
			if err != nil && stored {
				return fmt.Errorf("snapshot %s stored without declared rules (no drift report): %w", st.Name, err)
			} else if err != nil {
				return fmt.Errorf("unchanged since snapshot %s, stored without declared rules (no drift report): %w", st.Name, err)
			}
			if r, err := drift.Of(&snap); err == nil {
				fmt.Fprintf(a.stdout, "declared: %d security groups, %d network ACLs (%s); drift: %s\n", r.Groups, r.ACLs, r.Declared, driftCount(r))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "AWS region (default: AWS_REGION or the profile's)")
	cmd.Flags().StringVar(&vpcID, "vpc-id", "", "only this VPC (default: every VPC of the region)")
	cmd.Flags().StringVar(&declaredPath, "declared", "auto", "SSM path of the deployment's declared rules (/flowq/<app>/declared), auto or none")
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
