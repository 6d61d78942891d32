package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/collect"
	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
)

// Environment variables the function reads, once, at init.
const (
	envLake       = "FLOWQ_LAKE"            // s3://bucket/prefix (required)
	envLogFormat  = "FLOWQ_LOG_FORMAT"      // the flow log's ${field} format (default: AWS's v2)
	envTopic      = "FLOWQ_ALERT_TOPIC_ARN" // SNS topic for alerts ("" logs them only)
	envStateTable = "FLOWQ_STATE_TABLE"     // DynamoDB table ("" keeps state in memory)
	envConfig     = "FLOWQ_CONFIG"          // the detection configuration document (YAML, keys as flowq detect's flags)
	// Earlier releases' detector variables, still read when FLOWQ_CONFIG
	// is unset (detectconfig.Option.Env).
	envWatch      = "FLOWQ_WATCH_CIDRS"
	envExfilBytes = "FLOWQ_EXFIL_BYTES"
	envWindow     = "FLOWQ_WINDOW"
	envMaxBytes   = "FLOWQ_MAX_PAYLOAD_BYTES"
	// The scheduled collector (internal/collect): where the flow log
	// delivers to S3, the schedule's period, how long a slot settles, how
	// late an object may come.
	envDelivery       = "FLOWQ_DELIVERY"          // s3://bucket/prefix ("": no collector)
	envCollectMinutes = "FLOWQ_COLLECT_MINUTES"   // default 60
	envSettleMinutes  = "FLOWQ_SETTLE_MINUTES"    // default 15
	envLateMinutes    = "FLOWQ_LATE_MINUTES"      // default 120
	envInventoryMins  = "FLOWQ_INVENTORY_MINUTES" // how often the inventory snapshots are listed again (default 15)
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
	// Delivery is the flow log's S3 destination the collector reads
	// ("": scheduled events fail); CollectInterval, Settle and Lateness
	// its timing.
	Delivery                          string
	CollectInterval, Settle, Lateness time.Duration
	// InventoryRefresh is how often the inventory snapshots are listed
	// again (the schedule that writes them: -c inventoryMinutes).
	InventoryRefresh time.Duration

	now func() time.Time // the collector's clock (nil: time.Now); tests set it
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
		Delivery:        strings.TrimSpace(getenv(envDelivery)),
	}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }
	fm, err := parse.ParseFormat(c.LogFormat)
	if err != nil {
		bad(envLogFormat, err)
	}
	c.Format = fm
	c.Detect, err = detectConfig(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	if v := strings.TrimSpace(getenv(envMaxBytes)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil {
			bad(envMaxBytes, fmt.Errorf("%q is not a whole number of bytes", v))
		} else {
			c.MaxPayloadBytes = n
		}
	}
	for _, m := range []struct {
		name     string
		def, max int64
		to       *time.Duration
	}{
		{envCollectMinutes, int64(collect.DefaultInterval / time.Minute), 1440, &c.CollectInterval},
		{envSettleMinutes, int64(collect.DefaultSettle / time.Minute), 1440, &c.Settle},
		{envLateMinutes, int64(collect.DefaultLateness / time.Minute), 7 * 1440, &c.Lateness},
		{envInventoryMins, 15, 1440, &c.InventoryRefresh},
	} {
		n, err := minutes(getenv(m.name), m.def, m.max)
		if err != nil {
			bad(m.name, err)
		}
		*m.to = time.Duration(n) * time.Minute
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
		errs = append(errs, fmt.Errorf("detector settings: %w", err))
	}
	if c.Delivery != "" {
		if _, _, err := collect.ParseDelivery(c.Delivery); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envDelivery, err))
		}
		if err := collect.ValidInterval(c.CollectInterval); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envCollectMinutes, err))
		}
	}
	if c.MaxPayloadBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("%s=%d: at least 1 MiB", envMaxBytes, c.MaxPayloadBytes))
	}
	return errors.Join(errs...)
}

// minutes reads a whole number of minutes from 1 to max; "" is def.
func minutes(v string, def, max int64) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > max {
		return def, fmt.Errorf("%q: want whole minutes from 1 to %d", v, max)
	}
	return n, nil
}

// detectConfig reads the detection configuration: the document in
// FLOWQ_CONFIG, or else the three variables of earlier releases
// (FLOWQ_WATCH_CIDRS, FLOWQ_EXFIL_BYTES, FLOWQ_WINDOW), which still work
// alone but not beside the document.
func detectConfig(getenv func(string) string) (detect.Config, error) {
	var legacy []detectconfig.Option
	for _, o := range detectconfig.Options() {
		if o.Env != "" && strings.TrimSpace(getenv(o.Env)) != "" {
			legacy = append(legacy, o)
		}
	}
	if doc := getenv(envConfig); strings.TrimSpace(doc) != "" {
		c, err := detectconfig.Parse(envConfig, []byte(doc))
		var errs []error
		if err != nil {
			errs = append(errs, err)
		}
		for _, o := range legacy {
			errs = append(errs, fmt.Errorf("%s is set beside %s: move it into the document as %q and unset it", o.Env, envConfig, o.Name+": "+getenv(o.Env)))
		}
		return c, errors.Join(errs...)
	}
	c := detectconfig.Default()
	var errs []error
	for _, o := range legacy {
		if err := o.Set(&c, getenv(o.Env)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.Env, err))
		}
	}
	return c, errors.Join(errs...)
}
