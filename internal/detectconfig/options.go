package detectconfig

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Option is one setting of the configuration, bound the same way to a
// `flowq detect` flag, a key of the YAML document and (for the few the
// Lambda kept from before the document) an environment variable.
type Option struct {
	// Name is the flag (--Name) and the YAML key.
	Name string
	// Type names the kind of value for help: cidrs, ports, bytes, count,
	// duration, bool, detectors, budgets.
	Type string
	// Usage is the one-line help.
	Usage string
	// Env is the Lambda's legacy environment variable for this option, if
	// any (FLOWQ_CONFIG replaces them).
	Env string
	// List is true when the value is a list: YAML accepts a sequence or a
	// comma-separated string.
	List bool
	get  func(*Config) string
	set  func(*Config, string) error
}

// Get returns the option's value in c, as Set accepts it.
func (o *Option) Get(c *Config) string { return o.get(c) }

// Set parses v into c. Errors do not repeat the option's name.
func (o *Option) Set(c *Config, v string) error { return o.set(c, strings.TrimSpace(v)) }

// IsBool reports whether the option is a switch (--any-pair).
func (o *Option) IsBool() bool { return o.Type == "bool" }

// Options returns the option table, in help order.
func Options() []Option {
	return []Option{
		prefixes("watch", "watched networks: inside = yours", "FLOWQ_WATCH_CIDRS", func(c *Config) *[]netip.Prefix { return &c.Watch }),
		duration("window", "window length: reject and port scan count per tumbling window, exfiltration per hopping window (see README)", "FLOWQ_WINDOW", func(c *Config) *time.Duration { return &c.Window }),
		{Name: "detectors", Type: "detectors", List: true, Usage: "detectors to run: " + strings.Join(Detectors(), ", "),
			get: func(c *Config) string {
				if c.Detectors == nil {
					return strings.Join(Detectors(), ",")
				}
				return strings.Join(c.Detectors, ",")
			},
			set: func(c *Config, v string) error {
				c.Detectors = []string{}
				for d := range strings.SplitSeq(v, ",") {
					if d = strings.TrimSpace(d); d != "" {
						c.Detectors = append(c.Detectors, d)
					}
				}
				return nil
			}},
		bytesOpt("exfil-bytes", "exfiltration: alert when a pair moves strictly more bytes than this within a window (1000000, 1MB, 5MiB)", "FLOWQ_EXFIL_BYTES", func(c *Config) *int64 { return &c.ExfilBytes }),
		{Name: "exfil-budget", Type: "budgets", List: true, Usage: "exfiltration: further rules BYTES/WINDOW, e.g. 50MB/24h (a daily budget)",
			get: func(c *Config) string {
				s := make([]string, len(c.ExfilBudgets))
				for i, r := range c.ExfilBudgets {
					s[i] = r.String()
				}
				return strings.Join(s, ",")
			},
			set: func(c *Config, v string) error {
				c.ExfilBudgets = nil
				for part := range strings.SplitSeq(v, ",") {
					if part = strings.TrimSpace(part); part == "" {
						continue
					}
					r, err := ParseRule(part)
					if err != nil {
						return err
					}
					c.ExfilBudgets = append(c.ExfilBudgets, r)
				}
				return nil
			}},
		boolean("any-pair", "exfiltration: judge every pair, not only inside -> outside", func(c *Config) *bool { return &c.ExfilAnyPair }),
		prefixes("allow-dst", "exfiltration: destinations never alerted", "", func(c *Config) *[]netip.Prefix { return &c.ExfilAllowDst }),
		prefixes("allow-src", "exfiltration: sources never alerted, e.g. NAT gateways' private IPs", "", func(c *Config) *[]netip.Prefix { return &c.ExfilAllowSrc }),
		boolean("aws-services", "exfiltration: also count traffic to AWS services (pkt-dst-aws-service set)", func(c *Config) *bool { return &c.ExfilAWSServices }),
		count("reject-threshold", "reject: alert when a source has this many REJECT records in a window", func(c *Config) *int64 { return &c.RejectThreshold }),
		prefixes("src", "reject: only sources in these CIDRs (default: watch), e.g. 10.0.11.0/24", "", func(c *Config) *[]netip.Prefix { return &c.RejectSrc }),
		prefixes("dst", "reject: only destinations in these CIDRs (default: any)", "", func(c *Config) *[]netip.Prefix { return &c.RejectDst }),
		ports("ports", "reject: only these destination ports, e.g. 22,3306,8000-8100 (default: any)", func(c *Config) *[]PortRange { return &c.RejectPorts }),
		prefixes("allow-reject-src", "reject: sources whose rejects are expected", "", func(c *Config) *[]netip.Prefix { return &c.RejectAllowSrc }),
		prefixes("allow-reject-dst", "reject: destinations whose rejects are expected", "", func(c *Config) *[]netip.Prefix { return &c.RejectAllowDst }),
		ports("allow-reject-ports", "reject: destination ports whose rejects are expected", func(c *Config) *[]PortRange { return &c.RejectAllowPorts }),
		intOpt("scan-ports", "port scan: alert at this many distinct destination ports of one destination in a window", func(c *Config) *int { return &c.ScanPorts }),
		prefixes("scan-src", "port scan: only sources in these CIDRs (default: watch)", "", func(c *Config) *[]netip.Prefix { return &c.ScanSrc }),
		intOpt("evidence", "records quoted per alert", func(c *Config) *int { return &c.Evidence }),
		duration("retention", "window state kept after a window ends; older records are late (0: keep all, flowq detect's default)", "", func(c *Config) *time.Duration { return &c.Retention }),
		duration("claim-lease", "how long an alert handed out stays reserved for its batch", "", func(c *Config) *time.Duration { return &c.ClaimLease }),
	}
}

// Lookup returns the option named name.
func Lookup(name string) (Option, bool) {
	for _, o := range Options() {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

func prefixes(name, usage, env string, f func(*Config) *[]netip.Prefix) Option {
	return Option{Name: name, Type: "cidrs", Usage: usage, Env: env, List: true,
		get: func(c *Config) string {
			ps := *f(c)
			s := make([]string, len(ps))
			for i, p := range ps {
				s[i] = p.String()
			}
			return strings.Join(s, ",")
		},
		set: func(c *Config, v string) error {
			ps, err := ParsePrefixes(v)
			*f(c) = ps
			return err
		}}
}

func ports(name, usage string, f func(*Config) *[]PortRange) Option {
	return Option{Name: name, Type: "ports", Usage: usage, List: true,
		get: func(c *Config) string {
			rs := *f(c)
			s := make([]string, len(rs))
			for i, r := range rs {
				s[i] = r.String()
			}
			return strings.Join(s, ",")
		},
		set: func(c *Config, v string) error {
			rs, err := ParsePorts(v)
			*f(c) = rs
			return err
		}}
}

func duration(name, usage, env string, f func(*Config) *time.Duration) Option {
	return Option{Name: name, Type: "duration", Usage: usage, Env: env,
		get: func(c *Config) string { return f(c).String() },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration such as 90s, 15m or 24h", v)
			}
			*f(c) = d
			return nil
		}}
}

func bytesOpt(name, usage, env string, f func(*Config) *int64) Option {
	return Option{Name: name, Type: "bytes", Usage: usage, Env: env,
		get: func(c *Config) string { return strconv.FormatInt(*f(c), 10) },
		set: func(c *Config, v string) error {
			n, err := ParseBytes(v)
			*f(c) = n
			return err
		}}
}

func count(name, usage string, f func(*Config) *int64) Option {
	return Option{Name: name, Type: "count", Usage: usage,
		get: func(c *Config) string { return strconv.FormatInt(*f(c), 10) },
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*f(c) = n
			return nil
		}}
}

func intOpt(name, usage string, f func(*Config) *int) Option {
	return Option{Name: name, Type: "count", Usage: usage,
		get: func(c *Config) string { return strconv.Itoa(*f(c)) },
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*f(c) = n
			return nil
		}}
}

func boolean(name, usage string, f func(*Config) *bool) Option {
	return Option{Name: name, Type: "bool", Usage: usage,
		get: func(c *Config) string { return strconv.FormatBool(*f(c)) },
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not true or false", v)
			}
			*f(c) = b
			return nil
		}}
}
