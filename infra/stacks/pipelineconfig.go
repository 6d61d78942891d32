package stacks

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/flowq/flowq/internal/detectconfig"
)

// Flow-log destinations and S3 file formats (-c flowLogFileFormat), as the EC2 API
// spells them.
const (
	FlowLogToCloudWatch = "cloud-watch-logs"
	FlowLogToS3         = "s3"
	FlowLogPlainText    = "plain-text"
	FlowLogParquet      = "parquet"
)

// The values of -c flowLogDestination beyond EC2's two: S3NotificationsMode is S3
// delivery whose object notifications invoke the Lambda once per object (instead of
// the scheduled collector); CloudWatchAlias is a short form of FlowLogToCloudWatch.
const (
	S3NotificationsMode = "s3-notifications"
	CloudWatchAlias     = "cloudwatch"
)

// Pipeline defaults.
const (
	DefaultNoRecordsMinutes = 30
	DefaultScanLimitGB      = 10
	// MaxDetectConfigBytes: Lambda holds 4 KB of environment in all; the other
	// variables (lake, format, topic, table) take under 1 KB.
	MaxDetectConfigBytes = 3 << 10
)

// PipelineConfig is what the context decides about the pipeline.
type PipelineConfig struct {
	// FlowLogDestination is where VPC Flow Logs deliver: FlowLogToS3 (the default: a
	// bucket that the scheduled collector reads every CollectMinutes, or whose object
	// notifications invoke the Lambda with S3Notifications) or FlowLogToCloudWatch (a
	// log group with a subscription filter to the Lambda: real time, and the only
	// choice for an existing flow-log group).
	FlowLogDestination string
	// S3Notifications: -c flowLogDestination=s3-notifications.
	S3Notifications bool
	// CollectMinutes is the collector's schedule and slot length (collector.go).
	CollectMinutes int
	// FlowLogFileFormat is the S3 objects' format: FlowLogPlainText or FlowLogParquet.
	FlowLogFileFormat string
	// NoRecordsMinutes: alarm when no flow-log record is ingested for this long.
	NoRecordsMinutes int
	// ScanLimitGB is the Athena workgroup's per-query scan limit.
	ScanLimitGB int
	// DetectConfigFile is -c detectConfig=FILE as given; DetectConfig is its text,
	// passed to the Lambda as FLOWQ_CONFIG.
	DetectConfigFile string
	DetectConfig     string
	// InventoryMinutes: the inventory sync's schedule (inventory.go).
	InventoryMinutes int
}

// fromContext reads the pipeline's context keys; str returns "" for a missing key.
func (p *PipelineConfig) fromContext(str func(string) string) error {
	switch p.FlowLogDestination = str("flowLogDestination"); p.FlowLogDestination {
	case "":
		// An existing flow-log group can only be subscribed to.
		p.FlowLogDestination = FlowLogToS3
		if str("flowLogGroup") != "" {
			p.FlowLogDestination = FlowLogToCloudWatch
		}
	case CloudWatchAlias:
		p.FlowLogDestination = FlowLogToCloudWatch
	case S3NotificationsMode:
		p.FlowLogDestination, p.S3Notifications = FlowLogToS3, true
	}
	p.FlowLogFileFormat = str("flowLogFileFormat")
	if p.FlowLogFileFormat == "" {
		p.FlowLogFileFormat = FlowLogPlainText
	}
	var errs []error
	num := func(key string, def int) int {
		v := str(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number", key, v))
			return def
		}
		return n
	}
	p.CollectMinutes = num("collectMinutes", DefaultCollectMinutes)
	if str("collectMinutes") != "" && !p.Collects() {
		errs = append(errs, fmt.Errorf("collectMinutes: only with the scheduled collector (-c flowLogDestination=s3, the default); "+
			"with %s every delivery invokes the Lambda itself", p.destinationName()))
	}
	// The no-records alarm must see a run in every period (alarms.go).
	p.NoRecordsMinutes = num("noRecordsMinutes", p.defaultNoRecordsMinutes())
	p.ScanLimitGB = num("athenaScanLimitGB", DefaultScanLimitGB)
	p.InventoryMinutes = num("inventoryMinutes", p.defaultInventoryMinutes())
	if f := str("detectConfig"); f != "" {
		p.DetectConfigFile = f
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("detectConfig: %w", err))
		} else if len(b) > MaxDetectConfigBytes {
			errs = append(errs, fmt.Errorf("detectConfig: %s is %d bytes; the Lambda's environment holds 4 KB in all, %d for the document: drop comments and settings left at their defaults", f, len(b), MaxDetectConfigBytes))
		} else if err := validateDetectConfig(f, b); err != nil {
			errs = append(errs, fmt.Errorf("detectConfig: %w", err))
		} else {
			p.DetectConfig = string(b)
		}
	}
	if len(errs) > 0 {
		errs = append(errs, p.Validate()) // every problem at once
	}
	return errors.Join(errs...)
}

// Validate reports every invalid pipeline setting at once.
func (p PipelineConfig) Validate() error {
	var errs []error
	switch p.FlowLogDestination {
	case FlowLogToCloudWatch, FlowLogToS3:
	default:
		errs = append(errs, fmt.Errorf("flowLogDestination: want %s (the default: S3 delivery read by the scheduled collector), %s "+
			"(S3 delivery, the Lambda invoked per object) or %s (alias %s: real time, higher cost), got %q",
			FlowLogToS3, S3NotificationsMode, FlowLogToCloudWatch, CloudWatchAlias, p.FlowLogDestination))
	}
	switch p.FlowLogFileFormat {
	case FlowLogPlainText:
	case FlowLogParquet:
		if p.FlowLogDestination != FlowLogToS3 {
			errs = append(errs, fmt.Errorf("flowLogFileFormat: parquet needs -c flowLogDestination=s3"))
		}
	default:
		errs = append(errs, fmt.Errorf("flowLogFileFormat: want %s or %s, got %q", FlowLogPlainText, FlowLogParquet, p.FlowLogFileFormat))
	}
	// A CloudWatch alarm's period is a whole number of minutes, at most a day; flow
	// logs arrive 1 to 10 minutes after the traffic, so less than 10 would page on delay.
	if p.NoRecordsMinutes < 10 || p.NoRecordsMinutes > 1440 {
		errs = append(errs, fmt.Errorf("noRecordsMinutes: want 10 to 1440 minutes (flow logs arrive up to 10 minutes late), got %d", p.NoRecordsMinutes))
	}
	if p.Collects() {
		if err := validateCollectMinutes(p.CollectMinutes); err != nil {
			errs = append(errs, err)
		} else if least := p.CollectMinutes + CollectSettleMinutes; p.NoRecordsMinutes <= least && p.NoRecordsMinutes >= 10 {
			errs = append(errs, fmt.Errorf("noRecordsMinutes: the collector runs every %d minutes and takes a slot %d minutes after "+
				"it ends, so the no-records alarm would fire between runs: want more than %d minutes (default %d), got %d",
				p.CollectMinutes, CollectSettleMinutes, least, p.defaultNoRecordsMinutes(), p.NoRecordsMinutes))
		}
	}
	if p.ScanLimitGB < 1 || p.ScanLimitGB > 1<<20 {
		errs = append(errs, fmt.Errorf("athenaScanLimitGB: want 1 to 1048576 GB per query, got %d", p.ScanLimitGB))
	}
	if err := validateInventoryMinutes(p.InventoryMinutes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Collects says whether the scheduled collector feeds the Lambda: S3 delivery
// without object notifications.
func (p PipelineConfig) Collects() bool {
	return p.FlowLogDestination == FlowLogToS3 && !p.S3Notifications
}

// destinationName is the -c flowLogDestination value of the configuration.
func (p PipelineConfig) destinationName() string {
	if p.S3Notifications {
		return "-c flowLogDestination=" + S3NotificationsMode
	}
	return "-c flowLogDestination=" + p.FlowLogDestination
}

// defaultNoRecordsMinutes: 30, or with the collector one quarter hour more than a
// run's interval plus its settle delay (a run seen in every period even when
// EventBridge or a slow run delays it a little).
func (p PipelineConfig) defaultNoRecordsMinutes() int {
	if p.Collects() && validateCollectMinutes(p.CollectMinutes) == nil {
		return max(DefaultNoRecordsMinutes, p.CollectMinutes+CollectSettleMinutes+15)
	}
	return DefaultNoRecordsMinutes
}

// defaultInventoryMinutes: 15, or with the collector its interval within 15 to
// 60 minutes. The collector judges an hour's flows once, after the hour; a sync
// every quarter hour would cost four times as much, most of the pipeline's
// fixed cost at a few MB an hour. The price: an interface that lives less than
// the interval is in no snapshot (deployments sync at once: syncAfterDeploy).
func (p PipelineConfig) defaultInventoryMinutes() int {
	if p.Collects() && validateCollectMinutes(p.CollectMinutes) == nil {
		return min(max(p.CollectMinutes, DefaultInventoryMinutes), 60)
	}
	return DefaultInventoryMinutes
}

// validatePipeline checks the pipeline's settings and how they combine with the
// deployment mode.
func (c Config) validatePipeline() error {
	err := c.Pipeline.Validate()
	if c.FlowLogGroup != "" && c.Pipeline.FlowLogDestination == FlowLogToS3 {
		err = errors.Join(err, fmt.Errorf("flowLogDestination: %s turns on a flow log of its own; -c flowLogGroup subscribes to an existing "+
			"CloudWatch Logs flow log (leave flowLogDestination out, or give %s): give one or the other",
			strings.TrimPrefix(c.Pipeline.destinationName(), "-c flowLogDestination="), FlowLogToCloudWatch))
	}
	return err
}

// readFormat is the format of the flow log the pipeline reads.
func (c Config) readFormat() string {
	if c.FlowLogFormat != "" {
		return c.FlowLogFormat
	}
	return FlowLogFormat
}

var envName = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// validEnv: env names go into stack names (letters, digits, hyphens) and the Glue
// database name (lower case, no hyphens).
func validEnv(s string) bool { return envName.MatchString(s) }

// title upper-cases the first letter: "tradai" → "Tradai".
func title(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// validateDetectConfig checks a detection configuration document the way the
// Lambda reads it (FLOWQ_CONFIG), so a bad file fails the synth with its own line
// instead of every invocation.
func validateDetectConfig(filename string, data []byte) error {
	_, err := detectconfig.Parse(filename, data)
	return err
}
