package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/render"
)

// Alert is one finding: a key (detector, src, dst) that crossed its
// threshold in one window. It is reported once per key per window. Its ID is
// a hash of the detector, window and key, so every replay, retry or rerun
// over the same records yields the same ID; subscribers dedupe on it.
type Alert struct {
	ID          string    `json:"id"`
	Detector    string    `json:"detector"`
	Severity    string    `json:"severity"`
	Title       string    `json:"title"` // one printable-ASCII line, e.g. "exfiltration 10.0.11.50 -> 203.0.113.77 1.4 MB"
	Src         string    `json:"src"`
	Dst         string    `json:"dst"` // "" for reject alerts, which are per source; see Dsts
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Bytes       int64     `json:"bytes"`
	Packets     int64     `json:"packets"`
	Count       int64     `json:"count"`     // records
	Threshold   int64     `json:"threshold"` // bytes (exfiltration, strictly greater), records (reject) or distinct ports (portscan)
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	// Ports are the distinct destination ports: all of them for a port scan
	// (from state), those of the evidence batch otherwise.
	Ports []int `json:"ports,omitempty"`
	// ENIs are the interfaces that logged the evidence batch's records.
	ENIs []string `json:"enis,omitempty"`
	// Dsts are the distinct destinations of the evidence batch (reject).
	Dsts []string `json:"dsts,omitempty"`
	// Evidence holds up to Config.Evidence records of the alert's key from
	// the batch that made the alert due: the largest first for
	// exfiltration, the first of each port for a port scan.
	Evidence []Evidence `json:"evidence,omitempty"`
	// EvidenceMore counts the alert's records not quoted in Evidence
	// (shown as "+N more").
	EvidenceMore int64 `json:"evidence_more,omitempty"`
	// Rule is the exfiltration rule that fired, e.g. "1 MB in 1h".
	Rule string `json:"rule,omitempty"`
	// SrcResource and DstResource name the resources behind Src and Dst,
	// when the engine has a Resolver that knows them.
	SrcResource *Resource `json:"src_resource,omitempty"`
	DstResource *Resource `json:"dst_resource,omitempty"`
}

// Key returns the state key of the alert.
func (a *Alert) Key() Key {
	k := Key{Detector: a.Detector, Window: a.WindowStart.Unix(), Src: a.Src, Dst: a.Dst}
	if a.Detector == Exfiltration {
		k.Span = a.WindowEnd.Unix() - k.Window
	}
	return k
}

// Evidence is one flow-log record quoted in an alert.
type Evidence struct {
	ENI      string    `json:"eni,omitempty"`
	Src      string    `json:"src"`
	Dst      string    `json:"dst"`
	SrcPort  int       `json:"srcport"`
	DstPort  int       `json:"dstport"`
	Protocol int       `json:"protocol"`
	Packets  int64     `json:"packets"`
	Bytes    int64     `json:"bytes"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Action   string    `json:"action,omitempty"`
}

// AlertID returns the deterministic ID of the alert for a key: 32 hex digits
// of SHA-256 over the key.
func AlertID(k Key) string {
	h := sha256.Sum256([]byte("flowq/alert/v1#" + k.String()))
	return hex.EncodeToString(h[:16])
}

// severity returns the severity of a detector's alerts.
func severity(detector string) string {
	switch detector {
	case Exfiltration:
		return SeverityHigh
	case PortScan, Reject:
		return SeverityMedium
	}
	return SeverityLow
}

// title returns the alert's one-line summary, printable ASCII ("->", not an
// arrow, so it can be an SNS subject and an e-mail subject as is).
func title(a *Alert) string {
	var b strings.Builder
	b.WriteString(a.Detector)
	b.WriteByte(' ')
	b.WriteString(a.Src)
	b.WriteString(resourceName(a.SrcResource))
	switch a.Detector {
	case Exfiltration:
		fmt.Fprintf(&b, " -> %s%s %s", a.Dst, resourceName(a.DstResource), render.Bytes(a.Bytes))
	case Reject:
		fmt.Fprintf(&b, " %d rejected", a.Count)
		if len(a.Dsts) == 1 {
			fmt.Fprintf(&b, " -> %s%s", a.Dsts[0], resourceName(a.DstResource))
		}
	case PortScan:
		fmt.Fprintf(&b, " -> %s%s %d ports", a.Dst, resourceName(a.DstResource), len(a.Ports))
	}
	return b.String()
}
