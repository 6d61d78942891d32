// Package stacks holds flowq's CDK stacks: the seed networks (one per preset) and the
// flow-log pipeline that feeds the lake and the alerts.
package stacks

import (
	"fmt"
	"net/netip"
	"strings"
)

// NAT selects how the private subnets reach the internet.
type NAT int

const (
	// NATGatewayPerAZ puts one managed NAT Gateway in each public subnet (seed 000).
	NATGatewayPerAZ NAT = iota
	// NATInstance runs one t4g.nano NAT instance in an Auto Scaling group of 1 (seed 001).
	NATInstance
)

// Subnet CIDRs shared by both seeds.
var (
	VPCCIDR        = "10.0.0.0/16"
	PublicCIDRs    = [2]string{"10.0.1.0/24", "10.0.2.0/24"}
	PrivateCIDRs   = [2]string{"10.0.11.0/24", "10.0.12.0/24"}
	ephemeralPorts = [2]float64{1024, 65535}
)

// PlaceholderCertificateARN is used when no certificateArn is given, so that the app
// synthesizes and deploys to an emulator. A real deployment must pass
// -c certificateArn=arn:aws:acm:...: this ARN names no certificate.
const PlaceholderCertificateARN = "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"

// Preset is what one seed document decides. Everything else is shared.
type Preset struct {
	Name               string
	Region             string
	DatabaseCIDRs      [2]string
	NAT                NAT
	DynamoDBEndpoint   bool // DynamoDB gateway endpoint on the private route tables
	InterfaceEndpoints bool // Secrets Manager, ECR api and ECR dkr interface endpoints
	// TradAI runs three services behind the ALB (backend :8000, data :8002, MLflow
	// :5000) with path rules and a fixed 404 default; MenoTime forwards everything
	// to the backend.
	MultiService bool
	// LambdaSG adds the VPC Lambda security group (seed 001).
	LambdaSG bool
	// SeedNACLs applies seed 001's public and private network ACLs; without it those
	// tiers keep the VPC's default ACL (seed 000: "default allow all"). The database
	// tier's ACL is applied in every preset.
	SeedNACLs bool
	// PrivateZone is the private hosted zone (seed 001); empty for none.
	PrivateZone string
	// S3EndpointResources and DynamoDBEndpointResources restrict the gateway
	// endpoints' policies the way the seeds do ("{region}" and "{account}" are
	// substituted).
	S3EndpointBuckets    []string
	DynamoDBTablePattern string
	// VPCEndpointIngressFromECS: the interface endpoints accept 443 from the ECS
	// group (seed 000) instead of from the whole VPC (seed 001).
	VPCEndpointIngressFromECS bool
}

// Presets are the two seed networks.
var Presets = map[string]Preset{
	"menotime": {
		Name:                      "menotime",
		Region:                    "us-west-1",
		DatabaseCIDRs:             [2]string{"10.0.21.0/24", "10.0.22.0/24"},
		NAT:                       NATGatewayPerAZ,
		InterfaceEndpoints:        true,
		S3EndpointBuckets:         []string{"menotime-logs", "menotime-backups", "menotime-static-assets"},
		VPCEndpointIngressFromECS: true,
	},
	"tradai": {
		Name:                 "tradai",
		Region:               "us-east-1",
		DatabaseCIDRs:        [2]string{"10.0.20.0/24", "10.0.21.0/24"},
		NAT:                  NATInstance,
		DynamoDBEndpoint:     true,
		MultiService:         true,
		LambdaSG:             true,
		SeedNACLs:            true,
		PrivateZone:          "tradai.local",
		S3EndpointBuckets:    []string{"tradai-*"},
		DynamoDBTablePattern: "tradai-*",
	},
}

// DefaultPreset is used when -c preset is not given.
const DefaultPreset = "tradai"

// Config is the whole input of the app: a preset plus the context overrides.
type Config struct {
	Preset         Preset
	Account        string // empty: environment-agnostic account
	Region         string
	CertificateARN string
	AlertEmail     string
	Domain         string // menotime: public zone records only when set
	BastionCIDR    string // menotime: optional bastion security group
}

// Context is how the app reads `-c key=value`; awscdk.App.Node().TryGetContext fits.
type Context func(key string) (string, bool)

// ConfigFromContext builds the Config from CDK context values.
func ConfigFromContext(get Context) (Config, error) {
	str := func(key string) string {
		v, _ := get(key)
		return strings.TrimSpace(v)
	}
	name := str("preset")
	if name == "" {
		name = DefaultPreset
	}
	p, ok := Presets[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (want menotime or tradai)", name)
	}
	cfg := Config{
		Preset:         p,
		Account:        str("account"),
		Region:         str("region"),
		CertificateARN: str("certificateArn"),
		AlertEmail:     str("alertEmail"),
		Domain:         str("domain"),
		BastionCIDR:    str("bastionCidr"),
	}
	if cfg.Region == "" {
		cfg.Region = p.Region
	}
	switch v := str("interfaceEndpoints"); v {
	case "":
	case "true":
		cfg.Preset.InterfaceEndpoints = true
	case "false":
		cfg.Preset.InterfaceEndpoints = false
	default:
		return Config{}, fmt.Errorf("interfaceEndpoints: want true or false, got %q", v)
	}
	if cfg.CertificateARN == "" {
		cfg.CertificateARN = PlaceholderCertificateARN
	}
	return cfg, cfg.Validate()
}

// Validate reports the first invalid override.
func (c Config) Validate() error {
	if !strings.HasPrefix(c.CertificateARN, "arn:") {
		return fmt.Errorf("certificateArn: want an ACM certificate ARN, got %q", c.CertificateARN)
	}
	if c.BastionCIDR != "" {
		if c.Preset.Name != "menotime" {
			return fmt.Errorf("bastionCidr: only the menotime preset has a bastion")
		}
		if _, err := netip.ParsePrefix(c.BastionCIDR); err != nil {
			return fmt.Errorf("bastionCidr: %w", err)
		}
	}
	if c.Domain != "" && c.Preset.Name != "menotime" {
		return fmt.Errorf("domain: only the menotime preset has a public zone")
	}
	if c.AlertEmail != "" && !strings.Contains(c.AlertEmail, "@") {
		return fmt.Errorf("alertEmail: %q is not an e-mail address", c.AlertEmail)
	}
	return nil
}

// StackID names a stack of this preset, e.g. FlowqTradaiNetwork.
func (c Config) StackID(kind string) string {
	n := c.Preset.Name
	return "Flowq" + strings.ToUpper(n[:1]) + n[1:] + kind
}
