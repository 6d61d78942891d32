package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
)

// securityGroups are the seeds' groups; nil when the preset has none.
type securityGroups struct {
	ALB, ECS, Lambda, RDS, NAT, VPCEndpoint, Bastion awsec2.CfnSecurityGroup
}

type sgRule struct {
	proto    string
	from, to float64
	cidr     string
	group    awsec2.CfnSecurityGroup
	desc     string
}

func ingress(r sgRule) *awsec2.CfnSecurityGroup_IngressProperty {
	return &awsec2.CfnSecurityGroup_IngressProperty{
		IpProtocol: jsii.String(r.proto), FromPort: jsii.Number(r.from), ToPort: jsii.Number(r.to),
		CidrIp: jsii.String(r.cidr), Description: jsii.String(r.desc),
	}
}

func egress(r sgRule) *awsec2.CfnSecurityGroup_EgressProperty {
	e := &awsec2.CfnSecurityGroup_EgressProperty{IpProtocol: jsii.String(r.proto), Description: jsii.String(r.desc)}
	if r.proto != "-1" { // all protocols: ports do not apply
		e.FromPort, e.ToPort = jsii.Number(r.from), jsii.Number(r.to)
	}
	if r.group != nil {
		e.DestinationSecurityGroupId = r.group.AttrGroupId()
	} else {
		e.CidrIp = jsii.String(r.cidr)
	}
	return e
}

// noEgress is the rule CDK uses for "no outbound traffic": an inline egress list
// replaces EC2's default allow-all, and this rule matches nothing.
var noEgress = sgRule{proto: "icmp", from: 252, to: 86, cidr: "255.255.255.255/32", desc: "Disallow all traffic"}

func newSecurityGroups(stack awscdk.Stack, vpc awsec2.CfnVPC, cfg Config) *securityGroups {
	p := cfg.Preset
	sg := func(id, name, desc string, in []sgRule, out []sgRule) awsec2.CfnSecurityGroup {
		var ins []*awsec2.CfnSecurityGroup_IngressProperty
		for _, r := range in {
			ins = append(ins, ingress(r))
		}
		var outs []*awsec2.CfnSecurityGroup_EgressProperty
		for _, r := range out {
			outs = append(outs, egress(r))
		}
		props := &awsec2.CfnSecurityGroupProps{
			VpcId: vpc.Ref(), GroupDescription: jsii.String(desc), SecurityGroupEgress: &outs,
			Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Tag(name))}},
		}
		if len(ins) > 0 {
			props.SecurityGroupIngress = &ins
		}
		return awsec2.NewCfnSecurityGroup(stack, jsii.String(id), props)
	}
	from := func(id string, target, source awsec2.CfnSecurityGroup, port float64, desc string) {
		awsec2.NewCfnSecurityGroupIngress(stack, jsii.String(id), &awsec2.CfnSecurityGroupIngressProps{
			GroupId: target.AttrGroupId(), SourceSecurityGroupId: source.AttrGroupId(),
			IpProtocol: jsii.String(tcp), FromPort: jsii.Number(port), ToPort: jsii.Number(port), Description: jsii.String(desc),
		})
	}
	d := p.Description // the preset's wording, else seed 001's
	g := &securityGroups{}
	rdsOut := noEgress
	rdsOut.desc = d("rds-out", noEgress.desc)
	g.RDS = sg("RDSSecurityGroup", "rds-sg", d("rds-sg", "Security group for RDS PostgreSQL"), nil, []sgRule{rdsOut})
	ecsOut := []sgRule{
		{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: d("ecs-out-443", "HTTPS to AWS APIs (via NAT)")},
		{proto: tcp, from: 5432, to: 5432, group: g.RDS, desc: d("ecs-out-5432", "PostgreSQL to RDS")},
	}
	if !p.MultiService { // seed 000's extra ECS egress
		ecsOut = append(ecsOut,
			sgRule{proto: tcp, from: 587, to: 587, cidr: "0.0.0.0/0", desc: d("ecs-out-587", "SMTP to SES")},
			sgRule{proto: udp, from: 53, to: 53, cidr: "0.0.0.0/0", desc: d("ecs-out-53", "DNS (Route 53)")})
	}
	g.ECS = sg("ECSSecurityGroup", "ecs-sg", d("ecs-sg", "Security group for ECS tasks"), nil, ecsOut)
	albOut := []sgRule{{proto: tcp, from: 8000, to: 8000, group: g.ECS, desc: d("alb-out-8000", "Forward to ECS tasks")}}
	if p.MultiService {
		albOut = []sgRule{
			{proto: tcp, from: 8000, to: 8002, group: g.ECS, desc: "To ECS services"},
			{proto: tcp, from: 5000, to: 5000, group: g.ECS, desc: "To MLflow service"},
		}
	}
	g.ALB = sg("ALBSecurityGroup", "alb-sg", d("alb-sg", "Security group for Application Load Balancer"), []sgRule{
		{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: d("alb-in-443", "HTTPS from internet")},
		{proto: tcp, from: 80, to: 80, cidr: "0.0.0.0/0", desc: d("alb-in-80", "HTTP redirect to HTTPS")},
	}, albOut)
	from("ECSFromALB8000", g.ECS, g.ALB, 8000, d("ecs-in-8000-alb", "Backend API from ALB"))
	if p.MultiService {
		from("ECSFromALB8002", g.ECS, g.ALB, 8002, "Data Collection from ALB")
		from("ECSFromALB5000", g.ECS, g.ALB, 5000, "MLflow from ALB")
		from("ECSFromSelf5000", g.ECS, g.ECS, 5000, "MLflow from other ECS tasks")
	}
	if p.LambdaSG {
		g.Lambda = sg("LambdaSecurityGroup", "lambda-sg", "Security group for Lambda functions in VPC", nil, []sgRule{
			{proto: tcp, from: 8002, to: 8002, group: g.ECS, desc: "To Data Collection Service"},
			{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: "HTTPS to AWS APIs (via NAT)"},
		})
		from("ECSFromLambda8002", g.ECS, g.Lambda, 8002, "Data Collection from Lambda")
	}
	from("RDSFromECS5432", g.RDS, g.ECS, 5432, d("rds-in-5432-ecs", "PostgreSQL from ECS tasks"))
	if p.NAT == NATInstance {
		var in []sgRule
		for _, port := range []float64{443, 80} {
			for i, cidr := range PrivateCIDRs {
				in = append(in, sgRule{proto: tcp, from: port, to: port, cidr: cidr,
					desc: fmt.Sprintf("%s from private subnet AZ-%d", map[float64]string{443: "HTTPS", 80: "HTTP"}[port], i+1)})
			}
		}
		g.NAT = sg("NATSecurityGroup", "nat-sg", "Security group for NAT Instance", in, []sgRule{
			{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: "HTTPS to internet"},
			{proto: tcp, from: 80, to: 80, cidr: "0.0.0.0/0", desc: "HTTP to internet"},
		})
	}
	allOut := []sgRule{{proto: "-1", from: -1, to: -1, cidr: "0.0.0.0/0", desc: "All outbound"}}
	if p.VPCEndpointIngressFromECS {
		g.VPCEndpoint = sg("VPCEndpointSecurityGroup", "vpce-sg", "Security group for VPC Interface Endpoints", nil, allOut)
		from("VPCEndpointFromECS443", g.VPCEndpoint, g.ECS, 443, d("vpce-in-443-ecs", "HTTPS from ECS tasks"))
	} else {
		g.VPCEndpoint = sg("VPCEndpointSecurityGroup", "vpce-sg", "Security group for VPC Interface Endpoints", []sgRule{
			{proto: tcp, from: 443, to: 443, cidr: VPCCIDR, desc: "HTTPS from VPC"},
		}, allOut)
	}
	if cfg.BastionCIDR != "" {
		g.Bastion = sg("BastionSecurityGroup", "bastion-sg", d("bastion-sg", "Jump host for operational database access"), []sgRule{
			{proto: tcp, from: 22, to: 22, cidr: cfg.BastionCIDR, desc: d("bastion-in-22", "SSH from specific office/VPN")},
		}, []sgRule{
			{proto: tcp, from: 5432, to: 5432, group: g.RDS, desc: d("bastion-out-5432", "Database access")},
			{proto: tcp, from: 443, to: 443, cidr: "0.0.0.0/0", desc: d("bastion-out-443", "HTTPS (updates, etc.)")},
		})
		from("RDSFromBastion5432", g.RDS, g.Bastion, 5432, d("rds-in-5432-bastion", "Bastion host (operational access)"))
	}
	return g
}

// naclEntry is one numbered rule of a network ACL.
type naclEntry struct {
	rule     float64
	egress   bool
	from, to float64
	cidr     string
}

func newNetworkACLs(stack awscdk.Stack, vpc awsec2.CfnVPC, cfg Config, public, private, database [2]awsec2.CfnSubnet) {
	p := cfg.Preset
	acl := func(id, tag string, subnets [2]awsec2.CfnSubnet, entries []naclEntry) {
		nacl := awsec2.NewCfnNetworkAcl(stack, jsii.String(id), &awsec2.CfnNetworkAclProps{
			VpcId: vpc.Ref(), Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Tag(tag))}},
		})
		for _, e := range entries {
			dir := "In"
			if e.egress {
				dir = "Out"
			}
			awsec2.NewCfnNetworkAclEntry(stack, jsii.String(fmt.Sprintf("%s%s%d", id, dir, int(e.rule))), &awsec2.CfnNetworkAclEntryProps{
				NetworkAclId: nacl.Ref(), RuleNumber: jsii.Number(e.rule), Protocol: jsii.Number(tcpNum),
				RuleAction: jsii.String("allow"), Egress: jsii.Bool(e.egress), CidrBlock: jsii.String(e.cidr),
				PortRange: &awsec2.CfnNetworkAclEntry_PortRangeProperty{From: jsii.Number(e.from), To: jsii.Number(e.to)},
			})
		}
		for i, sn := range subnets {
			awsec2.NewCfnSubnetNetworkAclAssociation(stack, jsii.String(fmt.Sprintf("%sAssoc%d", id, i+1)), &awsec2.CfnSubnetNetworkAclAssociationProps{
				SubnetId: sn.Ref(), NetworkAclId: nacl.Ref(),
			})
		}
	}
	for _, t := range cfg.NetworkACLTables() {
		switch t.Tier {
		case "public":
			acl("PublicNetworkAcl", "public-nacl", public, t.Entries)
		case "private":
			acl("PrivateNetworkAcl", "private-nacl", private, t.Entries)
		case "database":
			acl("DatabaseNetworkAcl", "database-nacl", database, t.Entries)
		}
	}
}

// NACLTable is one tier's network ACL: its allow rules; everything else hits the
// ACL's implicit "*" deny.
type NACLTable struct {
	Tier    string
	Entries []naclEntry
}

// NACLRule is an exported view of one entry, for tests and the deploy check.
type NACLRule struct {
	Rule     int
	Egress   bool
	From, To int
	CIDR     string
}

// Rules lists the table's entries.
func (t NACLTable) Rules() []NACLRule {
	var out []NACLRule
	for _, e := range t.Entries {
		out = append(out, NACLRule{Rule: int(e.rule), Egress: e.egress, From: int(e.from), To: int(e.to), CIDR: e.cidr})
	}
	return out
}

// NetworkACLTables returns seed 001's ACL tables with the preset's database CIDRs.
// Presets without SeedNACLs get only the database table (seed 000: PostgreSQL in
// from the ECS subnets, and no egress but the responses to them).
func NetworkACLTables(p Preset) []NACLTable {
	eph := ephemeralPorts
	db := NACLTable{Tier: "database", Entries: []naclEntry{
		{rule: 100, from: 5432, to: 5432, cidr: PrivateCIDRs[0]},
		{rule: 110, from: 5432, to: 5432, cidr: PrivateCIDRs[1]},
		{rule: 100, egress: true, from: eph[0], to: eph[1], cidr: PrivateCIDRs[0]},
		{rule: 110, egress: true, from: eph[0], to: eph[1], cidr: PrivateCIDRs[1]},
	}}
	if !p.SeedNACLs {
		return []NACLTable{db}
	}
	public := NACLTable{Tier: "public", Entries: []naclEntry{
		{rule: 100, from: 443, to: 443, cidr: "0.0.0.0/0"},
		{rule: 110, from: 80, to: 80, cidr: "0.0.0.0/0"},
		{rule: 120, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
		{rule: 100, egress: true, from: 443, to: 443, cidr: "0.0.0.0/0"},
		{rule: 110, egress: true, from: 80, to: 80, cidr: "0.0.0.0/0"},
		{rule: 120, egress: true, from: 8000, to: 8002, cidr: VPCCIDR},
		{rule: 130, egress: true, from: 5000, to: 5000, cidr: VPCCIDR},
		{rule: 140, egress: true, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
	}}
	private := NACLTable{Tier: "private", Entries: []naclEntry{
		{rule: 100, from: 8000, to: 8002, cidr: PublicCIDRs[0]},
		{rule: 110, from: 8000, to: 8002, cidr: PublicCIDRs[1]},
		{rule: 120, from: 5000, to: 5000, cidr: VPCCIDR},
		{rule: 130, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
		{rule: 100, egress: true, from: 443, to: 443, cidr: "0.0.0.0/0"},
		{rule: 110, egress: true, from: 5432, to: 5432, cidr: p.DatabaseCIDRs[0]},
		{rule: 120, egress: true, from: 5432, to: 5432, cidr: p.DatabaseCIDRs[1]},
		{rule: 130, egress: true, from: eph[0], to: eph[1], cidr: "0.0.0.0/0"},
	}}
	return []NACLTable{public, private, db}
}

// NetworkACLTables are the preset's ACL tables for this deployment: with a bastion
// (-c bastionCidr), the database ACL also admits PostgreSQL from the public subnets,
// where the bastion runs, and lets the responses back out to them. Seed 000 gives
// the bastion group a PostgreSQL path to the database group, but its database ACL
// ("PostgreSQL from private ECS subnets only", "Outbound: Deny all") would drop that
// path; without a bastion the ACL is exactly the seed's.
func (c Config) NetworkACLTables() []NACLTable {
	tables := NetworkACLTables(c.Preset)
	if c.BastionCIDR == "" {
		return tables
	}
	for i, t := range tables {
		if t.Tier != "database" {
			continue
		}
		entries := append([]naclEntry(nil), t.Entries...)
		for j, cidr := range PublicCIDRs {
			rule := float64(120 + 10*j)
			entries = append(entries,
				naclEntry{rule: rule, from: 5432, to: 5432, cidr: cidr},
				naclEntry{rule: rule, egress: true, from: ephemeralPorts[0], to: ephemeralPorts[1], cidr: cidr})
		}
		tables[i].Entries = entries
	}
	return tables
}
