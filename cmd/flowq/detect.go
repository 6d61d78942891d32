package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/lakescan"
	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/detectconfig/detectflags"
)

// detectFlags are the detector options of flowq detect and flowq report:
// one flag per option of the detection configuration, plus --config
// (internal/detectconfig/detectflags), with flowq detect's defaults.
type detectFlags struct{ *detectflags.Flags }

// addDetectFlags binds the detector options on fs. claim-lease is left out:
// one process, no other batch to hand alerts to.
func addDetectFlags(fs *pflag.FlagSet, f *detectFlags) {
	f.Flags = detectflags.Bind(fs, cliDefaults(), "claim-lease")
}

// cliDefaults are the defaults of flowq detect: the Lambda's, except that
// over history no record is late and no claim needs a lease.
func cliDefaults() detectconfig.Config {
	c := detectconfig.Default()
	c.Retention, c.ClaimLease = 0, 0
	return c
}

// config reads --config, if given, and applies the flags set on the command
// line over it; errors are usage errors, naming the file and line or the
// flag.
func (f *detectFlags) config(readFile func(string) ([]byte, error)) (detect.Config, error) {
	c, err := f.Config(readFile, func(c *detectconfig.Config) {
		if !f.Changed("retention") {
			c.Retention = 0 // over history: judge every record, however old
		}
		c.ClaimLease = 0
	})
	if err != nil {
		return c, usageError("%v", err)
	}
	return c, nil
}

func newDetectCmd(a *app) *cobra.Command {
	var (
		df     detectFlags
		tf     timeFlags
		output string
		topic  string
	)
	cmd := &cobra.Command{
		Use:   "detect [flags]",
		Short: "Run the REJECT, exfiltration, port-scan and policy detectors over the lake's history",
		Long: `detect runs the detectors of the ingest Lambda over the lake's history and
prints their alerts: use it to tune thresholds and scopes before deploying
them, or to look back at a time range.

Detectors (all on by default, --detectors to choose):
  exfiltration  bytes a (src, dst) pair sends within any span of --window
                > --exfil-bytes (hopping windows of twice --window, every
                --window); --exfil-budget adds rules such as 50MB/24h.
                src inside --watch, dst outside (--any-pair: every pair);
                replies of a server to its clients are not counted
  reject        REJECT records per source in a window >= --reject-threshold;
                src inside --watch (or --src); rejects from the internet are
                counted in the summary, not alerted
  portscan      distinct destination ports per (src, dst) in a window
                >= --scan-ports, src inside --watch (or --scan-src)
  policy        traffic that disagrees with the network's rules of its time:
                ACCEPTed flows the rules deny, REJECTs a network ACL makes
                of flows the security groups allow; needs an inventory
                snapshot in the lake ('flowq inventory'), else finds nothing

--config FILE reads the detection configuration the Lambda runs with (its
FLOWQ_CONFIG): YAML whose keys are these flags without dashes, such as
"exfil-bytes: 5MB" or "allow-src: [10.0.1.10]". Flags given on the command
line override the file. Over history no record is late (unless --retention
is given): every record is judged, in time order, and the memory held is a
few hours of windows however long the range.

Each alert is reported once per key per window, with a deterministic id. The
summary goes to stderr.`,
		Example: `  flowq detect --since 24h
  flowq detect --config detect.yaml                       # what the Lambda raises
  flowq detect --config detect.yaml --exfil-bytes 5MB     # try a threshold
  flowq detect --src 10.0.11.0/24 --detectors reject      # the reference networks' REJECT query
  flowq detect --exfil-bytes 5MB --exfil-budget 50MB/24h --window 10m -o json
  flowq detect --since 2026-11-20 --sns arn:aws:sns:us-east-1:123456789012:flowq-alerts`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := df.config(os.ReadFile)
			if err != nil {
				return err
			}
			tr, err := tf.timeRange(time.Now())
			if err != nil {
				return err
			}
			sink, err := alert.ForFormat(output, a.stdout, a.terminalWidth())
			if err != nil {
				return usageError("--output %v", err)
			}
			ctx := cmd.Context()
			if topic != "" {
				if !strings.HasPrefix(topic, "arn:") {
					return usageError("--sns %q: want a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", topic)
				}
				awsCfg, err := config.LoadDefaultConfig(ctx)
				if err != nil {
					return fmt.Errorf("aws config: %w", err)
				}
				return runDetect(ctx, a, cfg, tr, alert.Multi(sink, alert.NewSNS(sns.NewFromConfig(awsCfg), topic, alert.SNSOptions{})), sink)
			}
			return runDetect(ctx, a, cfg, tr, sink, sink)
		},
	}
	fs := cmd.Flags()
	addDetectFlags(fs, &df)
	addTimeFlags(fs, &tf)
	fs.StringVarP(&output, "output", "o", outTable, "alert format: table, text (with evidence) or json (JSON Lines)")
	fs.StringVar(&topic, "sns", "", "also publish the alerts to this SNS topic ARN (AWS credentials from the environment)")
	return cmd
}

// runDetect runs the detectors over the lake's records in the range
// (lakescan.History) and sends the alerts to sink as they come. printer is
// the output sink, flushed at the end (tables are sized over every alert).
// The summary goes to stderr.
func runDetect(ctx context.Context, a *app, cfg detect.Config, tr timeRange, sink, printer alert.Sink) error {
	lake, err := openLake(ctx, a)
	if err != nil {
		return err
	}
	span := ""
	if !tr.IsZero() {
		span = tr.String()
	}
	summary, err := lakescan.History(ctx, lake, tr, cfg, sink.Send, lakescan.HistoryOptions{BatchPrefix: "flowq-detect", Span: span,
		Logger: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if errors.Is(err, lakescan.ErrConfig) {
		return usageError("%v", err)
	}
	if f, ok := printer.(interface{ Flush() error }); ok {
		if ferr := f.Flush(); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, "flowq detect: "+summary)
	return nil
}
