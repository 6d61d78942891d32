package detect

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Detector names, as they appear in Alert.Detector, Config.Detectors and the
// SNS "detector" message attribute.
const (
	Exfiltration = "exfiltration"
	Reject       = "reject"
	PortScan     = "portscan"
)

// Severities, as they appear in Alert.Severity and the SNS "severity"
// message attribute.
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
	SeverityLow    = "low"
)

// AllDetectors lists every detector, in the order alerts of one window are
// reported.
var allDetectors = [...]string{Exfiltration, Reject, PortScan}

// AllDetectors returns the names of every detector.
func AllDetectors() []string { return slices.Clone(allDetectors[:]) }

// Defaults of Config.
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
)

// DefaultWatch is the watched network when none is given: the seed VPC.
var defaultWatch = netip.MustParsePrefix("10.0.0.0/16")

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct{ Lo, Hi uint16 }

func (r PortRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(int(r.Lo))
	}
	return strconv.Itoa(int(r.Lo)) + "-" + strconv.Itoa(int(r.Hi))
}

// ParsePorts parses a comma-separated list of ports and ranges such as
// "22,80,8000-8100". The empty string is an empty list.
func ParsePorts(s string) ([]PortRange, error) {
	var out []PortRange
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		l, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("port %q: not a number from 0 to 65535", part)
		}
		h := l
		if isRange {
			if h, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 16); err != nil {
				return nil, fmt.Errorf("port range %q: not a number from 0 to 65535", part)
			}
			if h < l {
				return nil, fmt.Errorf("port range %q: end before start", part)
			}
		}
		out = append(out, PortRange{uint16(l), uint16(h)})
	}
	return out, nil
}

// ParsePrefixes parses a comma-separated list of CIDRs; a bare address is
// taken as a /32 (or /128).
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePrefix parses a CIDR or a bare address (taken as a /32 or /128) and
// masks it, so 10.0.11.7/24 means 10.0.11.0/24.
func ParsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: %w", s, err)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Config holds the detectors' rules. Start from DefaultConfig; the zero value
// is not valid. Prefix lists that are nil take the documented default; an
// address is "inside" a list if any prefix contains it (IPv4 and IPv6 alike).
//
// Records are assigned to tumbling windows aligned to the Unix epoch by their
// start time. Records whose log-status is NODATA or SKIPDATA, or that lack a
// start time or an address, are ignored. When a record carries pkt-srcaddr or
// pkt-dstaddr (NAT gateways, secondary IPs, EKS pods) and they differ from
// srcaddr/dstaddr, the pkt-* addresses are the ones judged and reported.
type Config struct {
	// Watch lists the networks flowq protects (default: 10.0.0.0/16, the
	// seed VPC). "Inside" and "outside" below are relative to it.
	Watch []netip.Prefix
	// Window is the length of the tumbling window (default 1h). It must be a
	// whole number of seconds, from 1 minute to 7 days.
	Window time.Duration
	// Detectors lists the detectors that run (nil: all of Exfiltration,
	// Reject and PortScan).
	Detectors []string

	// ExfilBytes: an exfiltration alert fires when the bytes a (src, dst)
	// pair moved in one window are strictly greater (default 1,000,000).
	ExfilBytes int64
	// ExfilAnyPair judges every pair, as the seed's Logs Insights query does,
	// instead of only inside → outside pairs.
	ExfilAnyPair bool
	// ExfilAllowDst lists destinations that are never exfiltration (backup
	// targets, partners, AWS ranges when pkt-dst-aws-service is not logged).
	ExfilAllowDst []netip.Prefix
	// ExfilAllowSrc lists sources that are never judged: hosts whose bulk
	// uploads are expected, or the private IPs of NAT gateways, whose own
	// ENI logs again (as NAT IP -> destination) what the instance behind
	// them sent.
	ExfilAllowSrc []netip.Prefix
	// ExfilAWSServices counts traffic whose pkt-dst-aws-service is set
	// (S3, DynamoDB, ...). By default such traffic is skipped.
	ExfilAWSServices bool

	// RejectThreshold: a reject alert fires when a source has at least this
	// many REJECT records in one window (default 1).
	RejectThreshold int64
	// RejectSrc limits the sources judged (default: Watch). Rejects of
	// sources outside it are counted in Summary, not alerted; use
	// 0.0.0.0/0 and ::/0 to alert on the internet's rejects too.
	RejectSrc []netip.Prefix
	// RejectDst limits the destinations judged (default: anywhere).
	RejectDst []netip.Prefix
	// RejectPorts limits the destination ports judged (default: any).
	RejectPorts []PortRange
	// RejectAllowSrc, RejectAllowDst and RejectAllowPorts list rejects that
	// are expected and never alerted.
	RejectAllowSrc   []netip.Prefix
	RejectAllowDst   []netip.Prefix
	RejectAllowPorts []PortRange

	// ScanPorts: a port-scan alert fires when a source tried at least this
	// many distinct destination ports (TCP, UDP, SCTP) of one destination in
	// one window, accepted or rejected (default 10).
	ScanPorts int
	// ScanSrc limits the sources judged (default: Watch).
	ScanSrc []netip.Prefix

	// Evidence is the number of records quoted in an alert (default 5, at
	// most MaxEvidence): the largest of the batch that made the alert due.
	Evidence int
	// Retention is how long window state is kept after the window ends
	// (default 24h); the DynamoDB items' TTL follows it. Records whose
	// window ended longer ago than Retention are ignored and counted as late,
	// since their state may be gone. 0 keeps state forever and accepts
	// records of any age (flowq detect over the lake's history).
	Retention time.Duration
	// ClaimLease is how long an alert handed out by Process stays reserved
	// for its batch before another batch may hand it out again, when the
	// first never called Ack (default 2m). See the package documentation.
	ClaimLease time.Duration
}

// DefaultConfig returns the default rules.
func DefaultConfig() Config {
	return Config{
		Watch:           []netip.Prefix{defaultWatch},
		Window:          DefaultWindow,
		ExfilBytes:      DefaultExfilBytes,
		RejectThreshold: DefaultRejectThreshold,
		ScanPorts:       DefaultScanPorts,
		Evidence:        DefaultEvidence,
		Retention:       DefaultRetention,
		ClaimLease:      DefaultClaimLease,
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Watch) == 0 {
		bad("watch: at least one CIDR is needed")
	}
	for _, list := range [][]netip.Prefix{c.Watch, c.ExfilAllowDst, c.ExfilAllowSrc, c.RejectSrc, c.RejectDst, c.RejectAllowSrc, c.RejectAllowDst, c.ScanSrc} {
		for _, p := range list {
			if !p.IsValid() {
				bad("invalid CIDR %v", p)
			}
		}
	}
	switch {
	case c.Window < time.Minute || c.Window > 7*24*time.Hour:
		bad("window %v: must be from 1m to 168h", c.Window)
	case c.Window%time.Second != 0:
		bad("window %v: must be a whole number of seconds", c.Window)
	}
	for _, d := range c.Detectors {
		if !slices.Contains(allDetectors[:], d) {
			bad("unknown detector %q (known: %s)", d, strings.Join(allDetectors[:], ", "))
		}
	}
	if c.ExfilBytes < 0 {
		bad("exfiltration threshold %d: must not be negative", c.ExfilBytes)
	}
	if c.RejectThreshold < 1 {
		bad("reject threshold %d: must be at least 1", c.RejectThreshold)
	}
	if c.ScanPorts < 2 || c.ScanPorts > 65536 {
		bad("port-scan threshold %d: must be from 2 to 65536 distinct ports", c.ScanPorts)
	}
	for _, list := range [][]PortRange{c.RejectPorts, c.RejectAllowPorts} {
		for _, r := range list {
			if r.Hi < r.Lo {
				bad("port range %d-%d: end before start", r.Lo, r.Hi)
			}
		}
	}
	if c.Evidence < 0 || c.Evidence > MaxEvidence {
		bad("evidence %d: must be from 0 to %d", c.Evidence, MaxEvidence)
	}
	if c.Retention < 0 {
		bad("retention %v: must not be negative", c.Retention)
	}
	if c.ClaimLease < 0 {
		bad("claim lease %v: must not be negative", c.ClaimLease)
	}
	return errors.Join(errs...)
}

// enabled reports whether a detector runs.
func (c Config) enabled(name string) bool {
	return c.Detectors == nil || slices.Contains(c.Detectors, name)
}

// Threshold returns the threshold a detector compares against: bytes for
// exfiltration (strictly greater), records for reject and distinct ports for
// port scan (at least).
func (c Config) Threshold(detector string) int64 {
	switch detector {
	case Exfiltration:
		return c.ExfilBytes
	case Reject:
		return c.RejectThreshold
	case PortScan:
		return int64(c.ScanPorts)
	}
	return 0
}
