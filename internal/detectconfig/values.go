package detectconfig

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func (r PortRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(int(r.Lo))
	}
	return strconv.Itoa(int(r.Lo)) + "-" + strconv.Itoa(int(r.Hi))
}

// String returns the rule as ParseRule reads it: "50000000/24h0m0s".
func (r ExfilRule) String() string { return strconv.FormatInt(r.Bytes, 10) + "/" + r.Window.String() }

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

// byteUnits are the suffixes ParseBytes accepts, decimal and binary.
var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1},
}

// ParseBytes parses a byte count: a whole number, or a number with a
// decimal (kB, MB, GB, TB) or binary (KiB, MiB, GiB, TiB) unit, as in 1MB,
// 1.5 GB or 512KiB.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil && mult == 1 {
		return n, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f*mult > math.MaxInt64 || f*mult < math.MinInt64 {
		return 0, fmt.Errorf("%q is not a byte count such as 1000000, 1MB or 5MiB", s)
	}
	return int64(math.Round(f * mult)), nil
}

// ParseRule parses an exfiltration rule BYTES/WINDOW, such as 50MB/24h.
func ParseRule(s string) (ExfilRule, error) {
	b, w, ok := strings.Cut(s, "/")
	if !ok {
		return ExfilRule{}, fmt.Errorf("%q: want BYTES/WINDOW, such as 50MB/24h", s)
	}
	n, err := ParseBytes(b)
	if err != nil {
		return ExfilRule{}, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil {
		return ExfilRule{}, fmt.Errorf("%q: %q is not a duration such as 1h or 24h", s, w)
	}
	return ExfilRule{Bytes: n, Window: d}, nil
}
