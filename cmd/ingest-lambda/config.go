package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
)

// Environment variables the function reads, once, at init.
const (
	envLake       = "FLOWQ_LAKE"            // s3://bucket/prefix (required)
	envLogFormat  = "FLOWQ_LOG_FORMAT"      // the flow log's ${field} format (default: AWS's v2)
	envTopic      = "FLOWQ_ALERT_TOPIC_ARN" // SNS topic for alerts ("" logs them only)
	envStateTable = "FLOWQ_STATE_TABLE"     // DynamoDB table ("" keeps state in memory)
	envWatch      = "FLOWQ_WATCH_CIDRS"     // comma-separated CIDRs (default 10.0.0.0/16)
	envExfilBytes = "FLOWQ_EXFIL_BYTES"     // default 1000000
	envWindow     = "FLOWQ_WINDOW"          // default 1h
	envMaxBytes   = "FLOWQ_MAX_PAYLOAD_BYTES"
)

// config is the function's whole configuration.
type config struct {
	Lake       string // s3://bucket/prefix
	LogFormat  string // as given
	Format     *parse.Format
	TopicARN   string
	StateTable string
	Detect     detect.Config
	// MaxPayloadBytes caps the decompressed JSON of one CloudWatch Logs
	// payload and the text of one S3 chunk.
	MaxPayloadBytes int64
}

// loadConfig reads the configuration from getenv and validates it,
// reporting every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Lake:            strings.TrimSpace(getenv(envLake)),
		LogFormat:       getenv(envLogFormat),
		TopicARN:        strings.TrimSpace(getenv(envTopic)),
		StateTable:      strings.TrimSpace(getenv(envStateTable)),
		Detect:          detect.DefaultConfig(),
		MaxPayloadBytes: cwlogs.DefaultMaxBytes,
	}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }
	fm, err := parse.ParseFormat(c.LogFormat)
	if err != nil {
		bad(envLogFormat, err)
	}
	c.Format = fm
	if v := getenv(envWatch); strings.TrimSpace(v) != "" {
		if ps, err := detect.ParsePrefixes(v); err != nil {
			bad(envWatch, err)
		} else {
			c.Detect.Watch = ps
		}
	}
	if v := strings.TrimSpace(getenv(envExfilBytes)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil {
			bad(envExfilBytes, fmt.Errorf("%q is not a whole number of bytes", v))
		} else {
			c.Detect.ExfilBytes = n
		}
	}
	if v := strings.TrimSpace(getenv(envWindow)); v != "" {
		if d, err := time.ParseDuration(v); err != nil {
			bad(envWindow, fmt.Errorf("%q is not a duration such as 1h or 15m", v))
		} else {
			c.Detect.Window = d
		}
	}
	if v := strings.TrimSpace(getenv(envMaxBytes)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil {
			bad(envMaxBytes, fmt.Errorf("%q is not a whole number of bytes", v))
		} else {
			c.MaxPayloadBytes = n
		}
	}
	if c.Format == nil {
		c.Format = parse.DefaultFormat() // reported above; keeps Validate to the other problems
	}
	return c, errors.Join(append(errs, c.Validate())...)
}

// Validate reports every problem of the configuration at once.
func (c *config) Validate() error {
	var errs []error
	switch {
	case c.Lake == "":
		errs = append(errs, fmt.Errorf("%s is required: the lake, as s3://bucket/prefix", envLake))
	case !strings.HasPrefix(c.Lake, "s3://") || len(c.Lake) == len("s3://") || strings.HasPrefix(c.Lake, "s3:///"):
		errs = append(errs, fmt.Errorf("%s=%q: want s3://bucket/prefix", envLake, c.Lake))
	}
	if c.Format == nil {
		errs = append(errs, fmt.Errorf("%s: no format", envLogFormat))
	}
	if c.TopicARN != "" && !strings.HasPrefix(c.TopicARN, "arn:") {
		errs = append(errs, fmt.Errorf("%s=%q: want an SNS topic ARN (arn:aws:sns:region:account:name)", envTopic, c.TopicARN))
	}
	if err := c.Detect.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("detector settings (%s, %s, %s): %w", envWatch, envExfilBytes, envWindow, err))
	}
	if c.MaxPayloadBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("%s=%d: at least 1 MiB", envMaxBytes, c.MaxPayloadBytes))
	}
	return errors.Join(errs...)
}
