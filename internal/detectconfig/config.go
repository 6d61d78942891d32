// Package detectconfig is flowq's detection configuration: the rules of the
// exfiltration, reject, port-scan and policy detectors, one option table that binds
// them to `flowq detect` flags, the YAML document (keys named as the flags)
// and the Lambda's environment, and their validation.
//
// It is a leaf package (standard library and YAML only), so the CDK app can
// validate a document at synth.
package detectconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Detector names, as they appear in alerts, Config.Detectors and the SNS
// "detector" message attribute.
const (
	Exfiltration = "exfiltration"
	Reject       = "reject"
	PortScan     = "portscan"
	// Policy judges traffic against the network's rules of its time; it
	// needs an inventory snapshot in the lake (flowq inventory) and finds
	// nothing without one.
	Policy = "policy"
)

// Detectors lists every detector, in the order alerts of one window are
// reported.
func Detectors() []string { return []string{Exfiltration, Reject, PortScan, Policy} }

// Defaults.
const (
	DefaultWindow          = time.Hour
	DefaultExfilBytes      = 1_000_000
	DefaultRejectThreshold = 1
	DefaultScanPorts       = 10
	DefaultEvidence        = 5
	DefaultRetention       = 24 * time.Hour
	DefaultClaimLease      = 2 * time.Minute
	// MaxEvidence bounds Config.Evidence.
	MaxEvidence = 50
	// MaxScanPorts bounds Config.ScanPorts, and with it the ports a
	// port-scan key keeps in state.
	MaxScanPorts = 512
	// MaxExfilRules bounds the exfiltration rules (ExfilBytes per Window
	// plus ExfilBudgets).
	MaxExfilRules = 4
)

// DefaultWatch is the watched network when none is given: the reference
// networks' VPC.
func DefaultWatch() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")} }

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct{ Lo, Hi uint16 }

// ExfilRule is one exfiltration rule: alert when a (src, dst) pair moves
// strictly more than Bytes within Window.
type ExfilRule struct {
	Bytes  int64
	Window time.Duration
}

// Config holds the detectors' rules. Start from Default; the zero value is
// not valid. Prefix lists that are nil take the documented default; an
// address is "inside" a list if any prefix contains it (IPv4 and IPv6
// alike). The flag and YAML key of each field is in its comment.
type Config struct {
	// Watch (watch) lists the networks flowq protects (default
	// 10.0.0.0/16). "Inside" and "outside" below are relative to it.
	Watch []netip.Prefix
	// Window (window) is the window length (default 1h), a whole number of
	// seconds from 1 minute to 7 days. Reject and port scan count in
	// tumbling windows of this length aligned to the Unix epoch;
	// exfiltration in hopping windows (see the detect package).
	Window time.Duration
	// Detectors (detectors) lists the detectors that run (nil: all).
	Detectors []string

	// ExfilBytes (exfil-bytes): an exfiltration alert fires when a (src,
	// dst) pair moves strictly more bytes than this within Window (default
	// 1,000,000).
	ExfilBytes int64
	// ExfilBudgets (exfil-budget) are further exfiltration rules, such as
	// a daily budget of 50 MB: "50MB/24h".
	ExfilBudgets []ExfilRule
	// ExfilAnyPair (any-pair) judges every pair, not only inside → outside.
	ExfilAnyPair bool
	// ExfilAllowDst (allow-dst) lists destinations never judged.
	ExfilAllowDst []netip.Prefix
	// ExfilAllowSrc (allow-src) lists sources never judged (expected bulk
	// uploaders, NAT gateways' private IPs).
	ExfilAllowSrc []netip.Prefix
	// ExfilAWSServices (aws-services) counts traffic whose
	// pkt-dst-aws-service is set; by default it is skipped.
	ExfilAWSServices bool

	// RejectThreshold (reject-threshold): a reject alert fires when a
	// source has at least this many REJECT records in one window (default 1).
	RejectThreshold int64
	// RejectSrc (src) limits the sources judged (default: Watch).
	RejectSrc []netip.Prefix
	// RejectDst (dst) limits the destinations judged (default: anywhere).
	RejectDst []netip.Prefix
	// RejectPorts (ports) limits the destination ports judged (default: any).
	RejectPorts []PortRange
	// RejectAllowSrc, RejectAllowDst and RejectAllowPorts
	// (allow-reject-src, allow-reject-dst, allow-reject-ports) list rejects
	// that are expected and never alerted.
	RejectAllowSrc   []netip.Prefix
	RejectAllowDst   []netip.Prefix
	RejectAllowPorts []PortRange

	// ScanPorts (scan-ports): a port-scan alert fires when a source tried at
	// least this many distinct destination ports of one destination in one
	// window (default 10, at most MaxScanPorts).
	ScanPorts int
	// ScanSrc (scan-src) limits the sources judged (default: Watch).
	ScanSrc []netip.Prefix

	// Evidence (evidence) is the number of records quoted per alert
	// (default 5, at most MaxEvidence).
	Evidence int
	// Retention (retention) is how long window state is kept after the
	// window ends (default 24h). Older records are late: logged, counted
	// and not judged. 0 keeps every window (flowq detect over history).
	Retention time.Duration
	// ClaimLease (claim-lease) is how long an alert handed out stays
	// reserved for its batch before another batch may hand it out again
	// (default 2m).
	ClaimLease time.Duration
}

// Default returns the default rules.
func Default() Config {
	return Config{
		Watch:           DefaultWatch(),
		Window:          DefaultWindow,
		ExfilBytes:      DefaultExfilBytes,
		RejectThreshold: DefaultRejectThreshold,
		ScanPorts:       DefaultScanPorts,
		Evidence:        DefaultEvidence,
		Retention:       DefaultRetention,
		ClaimLease:      DefaultClaimLease,
	}
}

// Enabled reports whether a detector runs.
func (c *Config) Enabled(name string) bool {
	return c.Detectors == nil || slices.Contains(c.Detectors, name)
}

// ExfilRules returns every exfiltration rule: ExfilBytes per Window first,
// then ExfilBudgets.
func (c *Config) ExfilRules() []ExfilRule {
	return append([]ExfilRule{{Bytes: c.ExfilBytes, Window: c.Window}}, c.ExfilBudgets...)
}

// Validate reports every problem of the configuration at once; each error
// starts with the option's name.
func (c *Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, fmt.Errorf("%s: %w", p.option, p.err))
	}
	return errors.Join(errs...)
}

// problem is one invalid option.
type problem struct {
	option string
	err    error
}

func (c *Config) problems() []problem {
	var out []problem
	bad := func(option, format string, args ...any) {
		out = append(out, problem{option, fmt.Errorf(format, args...)})
	}
	if len(c.Watch) == 0 {
		bad("watch", "at least one CIDR is needed")
	}
	for _, l := range []struct {
		name string
		list []netip.Prefix
	}{{"watch", c.Watch}, {"allow-dst", c.ExfilAllowDst}, {"allow-src", c.ExfilAllowSrc}, {"src", c.RejectSrc}, {"dst", c.RejectDst},
		{"allow-reject-src", c.RejectAllowSrc}, {"allow-reject-dst", c.RejectAllowDst}, {"scan-src", c.ScanSrc}} {
		for _, p := range l.list {
			if !p.IsValid() {
				bad(l.name, "invalid CIDR %v", p)
			}
		}
	}
	if err := checkWindow(c.Window); err != nil {
		bad("window", "%w", err)
	}
	for _, d := range c.Detectors {
		if !slices.Contains(Detectors(), d) {
			bad("detectors", "unknown detector %q (known: %s)", d, strings.Join(Detectors(), ", "))
		}
	}
	if c.Detectors != nil && len(c.Detectors) == 0 {
		bad("detectors", "name at least one of %s", strings.Join(Detectors(), ", "))
	}
	if c.ExfilBytes < 0 {
		bad("exfil-bytes", "%d must not be negative", c.ExfilBytes)
	}
	if n := 1 + len(c.ExfilBudgets); n > MaxExfilRules {
		bad("exfil-budget", "%d exfiltration rules, at most %d", n, MaxExfilRules)
	}
	for _, r := range c.ExfilBudgets {
		if r.Bytes < 0 {
			bad("exfil-budget", "%d bytes must not be negative", r.Bytes)
		}
		if err := checkWindow(r.Window); err != nil {
			bad("exfil-budget", "window %v", err)
		}
	}
	if c.RejectThreshold < 1 {
		bad("reject-threshold", "%d must be at least 1", c.RejectThreshold)
	}
	if c.ScanPorts < 2 || c.ScanPorts > MaxScanPorts {
		bad("scan-ports", "%d must be from 2 to %d distinct ports", c.ScanPorts, MaxScanPorts)
	}
	for _, l := range []struct {
		name string
		list []PortRange
	}{{"ports", c.RejectPorts}, {"allow-reject-ports", c.RejectAllowPorts}} {
		for _, r := range l.list {
			if r.Hi < r.Lo {
				bad(l.name, "port range %d-%d ends before it starts", r.Lo, r.Hi)
			}
		}
	}
	if c.Evidence < 0 || c.Evidence > MaxEvidence {
		bad("evidence", "%d must be from 0 to %d", c.Evidence, MaxEvidence)
	}
	if c.Retention < 0 {
		bad("retention", "%v must not be negative", c.Retention)
	}
	if c.ClaimLease < 0 {
		bad("claim-lease", "%v must not be negative", c.ClaimLease)
	}
	return out
}

func checkWindow(w time.Duration) error {
	switch {
	case w < time.Minute || w > 7*24*time.Hour:
		return fmt.Errorf("%v must be from 1m to 168h", w)
	case w%time.Second != 0:
		return fmt.Errorf("%v must be a whole number of seconds", w)
	}
	return nil
}
