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

// Flow-log destinations (-c flowLogDestination) and S3 file formats (-c flowLogFileFormat),
// as the EC2 API spells them.
const (
	FlowLogToCloudWatch = "cloud-watch-logs"
	FlowLogToS3         = "s3"
	FlowLogPlainText    = "plain-text"
	FlowLogParquet      = "parquet"
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
	// FlowLogDestination is where VPC Flow Logs deliver: FlowLogToCloudWatch (a log
	// group with a subscription filter to the Lambda) or FlowLogToS3 (a bucket whose
	// object notifications invoke the Lambda).
	FlowLogDestination string
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
	p.FlowLogDestination = str("flowLogDestination")
	if p.FlowLogDestination == "" || p.FlowLogDestination == "cloudwatch" {
		p.FlowLogDestination = FlowLogToCloudWatch
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
	p.NoRecordsMinutes = num("noRecordsMinutes", DefaultNoRecordsMinutes)
	p.ScanLimitGB = num("athenaScanLimitGB", DefaultScanLimitGB)
	p.InventoryMinutes = num("inventoryMinutes", DefaultInventoryMinutes)
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
		errs = append(errs, fmt.Errorf("flowLogDestination: want %s or %s, got %q", FlowLogToCloudWatch, FlowLogToS3, p.FlowLogDestination))
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
	if p.ScanLimitGB < 1 || p.ScanLimitGB > 1<<20 {
		errs = append(errs, fmt.Errorf("athenaScanLimitGB: want 1 to 1048576 GB per query, got %d", p.ScanLimitGB))
	}
	if err := validateInventoryMinutes(p.InventoryMinutes); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validatePipeline checks the pipeline's settings and how they combine with the
// deployment mode.
func (c Config) validatePipeline() error {
	err := c.Pipeline.Validate()
	if c.FlowLogGroup != "" && c.Pipeline.FlowLogDestination == FlowLogToS3 {
		err = errors.Join(err, fmt.Errorf("flowLogDestination: s3 turns on a flow log of its own; -c flowLogGroup subscribes to an existing CloudWatch Logs flow log: give one or the other"))
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
