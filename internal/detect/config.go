package detect

import (
	"github.com/flowq/flowq/internal/detectconfig"
)

// Config holds the detectors' rules; it is the detection configuration
// document of internal/detectconfig (flags, YAML file and Lambda env).
type Config = detectconfig.Config

// PortRange is an inclusive range of ports.
type PortRange = detectconfig.PortRange

// Detector names, as they appear in Alert.Detector, Config.Detectors and the
// SNS "detector" message attribute.
const (
	Exfiltration = detectconfig.Exfiltration
	Reject       = detectconfig.Reject
	PortScan     = detectconfig.PortScan
)

// Severities, as they appear in Alert.Severity and the SNS "severity"
// message attribute.
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
	SeverityLow    = "low"
)

// MaxEvidence bounds Config.Evidence.
const MaxEvidence = detectconfig.MaxEvidence

// allDetectors lists every detector, in the order alerts of one window are
// reported.
var allDetectors = [...]string{Exfiltration, Reject, PortScan}

// AllDetectors returns the names of every detector.
func AllDetectors() []string { return detectconfig.Detectors() }

// DefaultConfig returns the default rules.
func DefaultConfig() Config { return detectconfig.Default() }
