// Package stacks holds flowq's CDK stacks: the seed networks (one per preset) and the
// flow-log pipeline that feeds the lake and the alerts.
package stacks

import (
	"fmt"
	"net/netip"
	"regexp"
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

// DefaultFlowLogFormat is AWS's default flow-log format (version 2 fields): the
// format assumed for a flow log the user already has (-c flowLogGroup) unless
// -c flowLogFormat says otherwise.
const DefaultFlowLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} " +
	"${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

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
	// Names are the seed's own names for resources, by role; roles not
	// listed are named <preset>-<role> (see Tag).
	Names map[string]string
	// Descriptions are the seed's security-group rule descriptions, by rule key
	// (see newSecurityGroups); keys not listed use seed 001's wording.
	Descriptions map[string]string
	// PublicZone says how -c domain finds the public hosted zone that validates the
	// certificate: created by the network stack (seed 000 creates menotime.ai's zone)
	// or looked up (the zone must exist; seed 001 has only a private zone).
	PublicZone ZoneSource
}

// ZoneSource is how the public hosted zone of -c domain is found.
type ZoneSource int

const (
	// ZoneLookup looks the zone up by name (CDK context lookup; needs the account).
	ZoneLookup ZoneSource = iota
	// ZoneCreate creates the zone in the network stack, with the preset's records.
	ZoneCreate
)

// Tag is the seed's name for one of the preset's resources: its Name tag.
func (p Preset) Tag(role string) string {
	if n, ok := p.Names[role]; ok {
		return n
	}
	return p.Name + "-" + role
}

// Description is the preset's wording of a security-group rule.
func (p Preset) Description(key, seed001 string) string {
	if d, ok := p.Descriptions[key]; ok {
		return d
	}
	return seed001
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
		PublicZone:                ZoneCreate,
		// Seed 000's names.
		Names: map[string]string{
			"public-a": "menotime-pub-a", "public-b": "menotime-pub-b",
			"private-a": "menotime-priv-ecs-a", "private-b": "menotime-priv-ecs-b",
			"database-a": "menotime-priv-db-a", "database-b": "menotime-priv-db-b",
			"private-rt-a": "menotime-private-ecs-rt-a", "private-rt-b": "menotime-private-ecs-rt-b",
			"database-rt": "menotime-private-db-rt", "rds-sg": "menotime-db-sg",
			"s3-endpoint": "menotime-s3-gateway-endpoint", "secretsmanager-endpoint": "menotime-secretsmanager-endpoint",
			"ecr.api-endpoint": "menotime-ecr-endpoint", "ecr.dkr-endpoint": "menotime-ecr-endpoint",
			"vpc-flow-logs": "menotime-flow-logs",
		},
		// Seed 000's security groups ("Purpose") and rule descriptions.
		Descriptions: map[string]string{
			"alb-sg":     "Public-facing load balancer; accepts HTTP/HTTPS from internet",
			"alb-in-443": "Client connections", "alb-in-80": "Redirect to HTTPS", "alb-out-8000": "Forward to ECS tasks",
			"ecs-sg":          "Container tasks; accepts traffic from ALB and initiates connections to external services",
			"ecs-in-8000-alb": "Health checks, requests from ALB",
			"ecs-out-443":     "HTTPS to AWS services (Secrets Manager, SES, S3, ECR)", "ecs-out-5432": "Database connections",
			"ecs-out-587": "SMTP to SES", "ecs-out-53": "DNS (Route 53)",
			"rds-sg": "Database; accepts only PostgreSQL traffic from ECS tasks", "rds-out": "RDS doesn't initiate connections",
			"rds-in-5432-ecs": "Database connections from ECS", "rds-in-5432-bastion": "Bastion host (optional, operational access)",
			"bastion-sg":    "Jump host for operational database access (alternative to SSM Session Manager)",
			"bastion-in-22": "SSH from specific office/VPN", "bastion-out-5432": "Database access", "bastion-out-443": "HTTPS (updates, etc.)",
			"vpce-in-443-ecs": "Allow HTTPS (443) from menotime-ecs-sg",
		},
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
		PublicZone:           ZoneLookup,
	},
}

// DefaultPreset is used when -c preset is not given.
const DefaultPreset = "tradai"

// Config is the whole input of the app: a preset plus the context overrides.
type Config struct {
	Preset         Preset
	Account        string // empty: environment-agnostic account
	Region         string
	CertificateARN string // the HTTPS listener's; empty: created for Domain
	AlertEmail     string
	Domain         string // the public domain: certificate (without CertificateARN); menotime: zone and records
	BastionCIDR    string // menotime: optional bastion security group
	// VPCID (-c vpcId) deploys the pipeline only, for an existing VPC: no network
	// stack; the pipeline turns on the VPC's flow log.
	VPCID string
	// FlowLogGroup (-c flowLogGroup) deploys the pipeline only, subscribed to the log
	// group of a flow log the user already has, whose format is FlowLogFormat.
	FlowLogGroup string
	// FlowLogFormat is the format of the flow log the pipeline reads: FlowLogFormat
	// for the flow logs the app turns on; -c flowLogFormat (default
	// DefaultFlowLogFormat) for the user's own (FlowLogGroup).
	FlowLogFormat string
	// LookupAccount is the account for context lookups (the public hosted zone of
	// Domain on presets that look it up) when Account is not given: main sets it
	// from the CDK CLI's CDK_DEFAULT_ACCOUNT.
	LookupAccount string

	Pipeline PipelineConfig // the pipeline's context keys (pipelineconfig.go)
	Env      string         // -c env=NAME: a named copy; its stacks and Glue database carry NAME
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
		VPCID:          str("vpcId"),
		FlowLogGroup:   str("flowLogGroup"),
		FlowLogFormat:  str("flowLogFormat"),
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
	switch {
	case cfg.FlowLogGroup != "" && cfg.FlowLogFormat == "":
		cfg.FlowLogFormat = DefaultFlowLogFormat
	case cfg.FlowLogGroup == "" && cfg.FlowLogFormat != "":
		return Config{}, fmt.Errorf("flowLogFormat: only with -c flowLogGroup (the flow logs flowq turns on use its own format)")
	case cfg.FlowLogGroup == "":
		cfg.FlowLogFormat = FlowLogFormat
	}
	cfg.Env = str("env")
	if err := cfg.Pipeline.fromContext(str); err != nil {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

// Validate reports the first invalid override.
func (c Config) Validate() error {
	if err := c.validateMode(); err != nil {
		return err
	}
	if c.BastionCIDR != "" {
		if c.Preset.Name != "menotime" {
			return fmt.Errorf("bastionCidr: only the menotime preset has a bastion")
		}
		if _, err := netip.ParsePrefix(c.BastionCIDR); err != nil {
			return fmt.Errorf("bastionCidr: %w", err)
		}
	}
	if c.AlertEmail != "" && !strings.Contains(c.AlertEmail, "@") {
		return fmt.Errorf("alertEmail: %q is not an e-mail address", c.AlertEmail)
	}
	if c.Env != "" && !validEnv(c.Env) {
		return fmt.Errorf("env: want 1 to 16 lower-case letters and digits starting with a letter (it names stacks and the Glue database), got %q", c.Env)
	}
	return c.validatePipeline()
}

// StackID names a stack of this preset, e.g. FlowqTradaiNetwork (FlowqTradaiStagingNetwork
// with -c env=staging).
func (c Config) StackID(kind string) string {
	return "Flowq" + title(c.Preset.Name) + title(c.Env) + kind
}

// DeploysNetwork says whether the preset's network stack is part of the app: not
// for an existing VPC (-c vpcId) or an existing flow log (-c flowLogGroup).
func (c Config) DeploysNetwork() bool { return c.VPCID == "" && c.FlowLogGroup == "" }

// LooksUpZone says whether the network stack looks up the public hosted zone of
// Domain (a context lookup, which needs the account: Account or LookupAccount).
func (c Config) LooksUpZone() bool {
	return c.DeploysNetwork() && c.CertificateARN == "" && c.Domain != "" && c.Preset.PublicZone == ZoneLookup
}

var (
	vpcIDPattern    = regexp.MustCompile(`^vpc-[0-9a-f]{8}([0-9a-f]{9})?$`)
	logGroupPattern = regexp.MustCompile(`^[\w./#-]{1,512}$`)
	acmARNPattern   = regexp.MustCompile(`^arn:aws[\w-]*:acm:([a-z0-9-]+):\d{12}:certificate/[\w-]+$`)
	domainPattern   = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// validateMode checks the deployment mode's keys: an existing VPC or flow log, or
// the preset's network, whose HTTPS listener needs a certificate.
func (c Config) validateMode() error {
	if c.VPCID != "" && !vpcIDPattern.MatchString(c.VPCID) {
		return fmt.Errorf("vpcId: want a VPC ID (vpc- and 8 or 17 hex digits), got %q", c.VPCID)
	}
	if c.FlowLogGroup != "" && !logGroupPattern.MatchString(c.FlowLogGroup) {
		return fmt.Errorf("flowLogGroup: %q is not a CloudWatch Logs group name", c.FlowLogGroup)
	}
	if c.FlowLogGroup != "" {
		if _, err := lakeColumns(c.FlowLogFormat); err != nil {
			return fmt.Errorf("flowLogFormat: %w", err)
		}
	}
	if !c.DeploysNetwork() {
		mode := "vpcId"
		if c.FlowLogGroup != "" {
			mode = "flowLogGroup"
		}
		for _, kv := range [][2]string{{"certificateArn", c.CertificateARN}, {"domain", c.Domain}, {"bastionCidr", c.BastionCIDR}} {
			if kv[1] != "" {
				return fmt.Errorf("%s: belongs to the preset's network, which -c %s does not deploy (it deploys the pipeline only)", kv[0], mode)
			}
		}
		return nil
	}
	if c.Domain != "" && !domainPattern.MatchString(c.Domain) {
		return fmt.Errorf("domain: %q is not a lower-case DNS name such as example.com", c.Domain)
	}
	if c.CertificateARN != "" {
		m := acmARNPattern.FindStringSubmatch(c.CertificateARN)
		if m == nil {
			return fmt.Errorf("certificateArn: want an ACM certificate ARN (arn:aws:acm:%s:<account>:certificate/<id>), got %q", c.Region, c.CertificateARN)
		}
		if m[1] != c.Region {
			return fmt.Errorf("certificateArn: the certificate is in %s but the load balancer in %s (ACM certificates are regional)", m[1], c.Region)
		}
		return nil
	}
	if c.Domain != "" {
		return nil
	}
	zone := "it is looked up, so it must already exist in Route 53"
	if c.Preset.PublicZone == ZoneCreate {
		zone = "the " + c.Preset.Name + " preset creates that zone"
	}
	return fmt.Errorf("no certificate for the HTTPS listener: pass -c certificateArn=arn:aws:acm:%s:<account>:certificate/<id> "+
		"(an issued ACM certificate in %s), or -c domain=<your domain> to create one validated through DNS in the domain's "+
		"public hosted zone (%s); to deploy only the pipeline for a VPC you already have, pass -c vpcId=vpc-... instead",
		c.Region, c.Region, zone)
}
