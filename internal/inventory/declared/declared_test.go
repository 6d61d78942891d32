package declared_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/declared"
)

// Values as the CDK app publishes them once CloudFormation resolved the IDs
// (infra/stacks/declared.go; the rule objects are the constructs' own).
const (
	albValue = `{"egress":[{"description":"To ECS services","destinationSecurityGroupId":"sg-0ecs","fromPort":8000,"ipProtocol":"tcp","toPort":8002}],` +
		`"id":"sg-0alb","ingress":[{"cidrIp":"0.0.0.0/0","description":"HTTPS from internet","fromPort":443,"ipProtocol":"tcp","toPort":443},` +
		`{"cidrIpv6":"::/0","fromPort":443,"ipProtocol":"tcp","toPort":443}],"kind":"security-group","name":"ALBSecurityGroup","version":1}`
	vpceValue = `{"egress":[{"cidrIp":"0.0.0.0/0","description":"All outbound","ipProtocol":"-1"}],"id":"sg-0vpce",` +
		`"ingress":[{"sourcePrefixListId":"pl-1","fromPort":"443","ipProtocol":"6","toPort":"443"}],"kind":"security-group","name":"VPCEndpointSecurityGroup","version":1}`
	aclValue = `{"entries":[{"cidrBlock":"0.0.0.0/0","egress":false,"portRange":{"from":443,"to":443},"protocol":6,"ruleAction":"allow","ruleNumber":100},` +
		`{"ipv6CidrBlock":"::/0","egress":true,"protocol":-1,"ruleAction":"deny","ruleNumber":90}],"id":"acl-0pub","kind":"network-acl","name":"PublicNetworkAcl","version":1}`
	// A second part of the ALB group (…/ALBSecurityGroup/2).
	albPart2 = `{"egress":[],"id":"sg-0alb","ingress":[{"cidrIp":"0.0.0.0/0","fromPort":80,"ipProtocol":"tcp","toPort":80}],"kind":"security-group","name":"ALBSecurityGroup","version":1}`
)

func TestParse(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	got, err := declared.Parse([]declared.Param{
		{Name: "/flowq/tradai/declared/security-groups/VPCEndpointSecurityGroup", Value: vpceValue},
		{Name: "/flowq/tradai/declared/security-groups/ALBSecurityGroup/1", Value: albValue},
		{Name: "/flowq/tradai/declared/security-groups/ALBSecurityGroup/2", Value: albPart2},
		{Name: "/flowq/tradai/declared/network-acls/PublicNetworkAcl", Value: aclValue},
	}, "ssm:/flowq/tradai/declared", at)
	if err != nil {
		t.Fatal(err)
	}
	want := &inventory.Declaration{
		Source: "ssm:/flowq/tradai/declared", Read: at,
		SecurityGroups: []inventory.SecurityGroup{
			{ID: "sg-0alb", Name: "ALBSecurityGroup",
				Ingress: []inventory.SGRule{
					{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0", Description: "HTTPS from internet"},
					{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "::/0"},
					{Protocol: "tcp", FromPort: 80, ToPort: 80, CIDR: "0.0.0.0/0"},
				},
				Egress: []inventory.SGRule{{Protocol: "tcp", FromPort: 8000, ToPort: 8002, Group: "sg-0ecs", Description: "To ECS services"}}},
			{ID: "sg-0vpce", Name: "VPCEndpointSecurityGroup",
				Ingress: []inventory.SGRule{{Protocol: "6", FromPort: 443, ToPort: 443, PrefixList: "pl-1"}},
				Egress:  []inventory.SGRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Description: "All outbound"}}},
		},
		NetworkACLs: []inventory.NetworkACL{{ID: "acl-0pub", Name: "PublicNetworkAcl", Subnets: []string{}, Entries: []inventory.ACLEntry{
			{Number: 100, Protocol: "6", Allow: true, CIDR: "0.0.0.0/0", FromPort: 443, ToPort: 443},
			{Number: 90, Egress: true, Protocol: "-1", CIDR: "::/0", FromPort: -1, ToPort: -1},
		}}},
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("declaration (-got +want):\n%s", d)
	}
}

// TestParseErrors: a bad value is an error naming the parameter, the rule and
// the field, never a declaration with the rule left out.
func TestParseErrors(t *testing.T) {
	const p = "/flowq/x/declared/security-groups/G"
	sg := func(rule string) string {
		return `{"version":1,"kind":"security-group","id":"sg-1","name":"G","ingress":[{"ipProtocol":"tcp","fromPort":1,"toPort":1,"cidrIp":"10.0.0.0/8"},` + rule + `]}`
	}
	for _, tc := range []struct{ name, value, want string }{
		{"not json", `{"version":1,`, p + ": unexpected EOF"},
		{"newer version", `{"version":2,"kind":"security-group","id":"sg-1"}`, p + ": version 2, this flowq reads 1..1"},
		{"no id", `{"version":1,"kind":"security-group"}`, p + ": no id"},
		{"unknown kind", `{"version":1,"kind":"route-table","id":"rtb-1"}`, p + `: kind "route-table"`},
		{"bad port", sg(`{"ipProtocol":"tcp","fromPort":"x","toPort":1,"cidrIp":"0.0.0.0/0"}`), `"x": want a whole number`},
		{"bad protocol", sg(`{"ipProtocol":"tcpp","fromPort":1,"toPort":1,"cidrIp":"0.0.0.0/0"}`), p + `: ingress rule 2: ipProtocol "tcpp"`},
		{"no peer", sg(`{"ipProtocol":"tcp","fromPort":1,"toPort":1}`), p + ": ingress rule 2: no peer"},
		{"two peers", sg(`{"ipProtocol":"tcp","fromPort":1,"toPort":1,"cidrIp":"0.0.0.0/0","sourceSecurityGroupId":"sg-2"}`), "ingress rule 2: cidrIp and group: one peer per rule"},
		{"group by name", sg(`{"ipProtocol":"tcp","fromPort":1,"toPort":1,"sourceSecurityGroupName":"web"}`), `sourceSecurityGroupName "web"`},
		{"acl action", `{"version":1,"kind":"network-acl","id":"acl-1","entries":[{"ruleNumber":100,"protocol":6,"ruleAction":"permit","cidrBlock":"0.0.0.0/0"}]}`, `entry 1: ruleAction "permit"`},
		{"acl number", `{"version":1,"kind":"network-acl","id":"acl-1","entries":[{"ruleNumber":40000,"protocol":6,"ruleAction":"allow","cidrBlock":"0.0.0.0/0"}]}`, "entry 1: ruleNumber 40000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := declared.Parse([]declared.Param{{Name: p, Value: tc.value}}, "test", time.Time{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q (declaration %+v)", err, tc.want, d)
			}
		})
	}
}

// TestParseUnresolvedIDs: two ACLs whose IDs did not resolve (moto's
// CloudFormation renders the Ref of a resource it skips as "None") stay two
// ACLs, each reported missing, rather than one with both's entries.
func TestParseUnresolvedIDs(t *testing.T) {
	acl := func(name string) string {
		return `{"version":1,"kind":"network-acl","name":"` + name + `","id":"None","entries":[{"ruleNumber":100,"protocol":6,"ruleAction":"allow","cidrBlock":"0.0.0.0/0"}]}`
	}
	d, err := declared.Parse([]declared.Param{{Name: "/a", Value: acl("PublicNetworkAcl")}, {Name: "/b", Value: acl("PrivateNetworkAcl")}}, "test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.NetworkACLs) != 2 || len(d.NetworkACLs[0].Entries) != 1 || len(d.NetworkACLs[1].Entries) != 1 {
		t.Errorf("ACLs: %+v, want two of one entry each", d.NetworkACLs)
	}
}

// TestChoose: the declaration naming the snapshot's groups or ACLs is
// chosen; none naming them: nil; several: ErrAmbiguous with their sources.
func TestChoose(t *testing.T) {
	decl := func(src, sg, acl string) *inventory.Declaration {
		d := &inventory.Declaration{Source: src}
		if sg != "" {
			d.SecurityGroups = []inventory.SecurityGroup{{ID: sg}}
		}
		if acl != "" {
			d.NetworkACLs = []inventory.NetworkACL{{ID: acl}}
		}
		return d
	}
	snap := &inventory.Snapshot{SecurityGroups: []inventory.SecurityGroup{{ID: "sg-1"}}, NetworkACLs: []inventory.NetworkACL{{ID: "acl-1"}}}
	a, b, c := decl("a", "sg-9", ""), decl("b", "sg-1", ""), decl("c", "", "acl-1")
	if d, err := declared.Choose([]*inventory.Declaration{a, b}, snap); err != nil || d != b {
		t.Errorf("by group: %+v, %v", d, err)
	}
	if d, err := declared.Choose([]*inventory.Declaration{a, c}, snap); err != nil || d != c {
		t.Errorf("by ACL: %+v, %v", d, err)
	}
	if d, err := declared.Choose([]*inventory.Declaration{a}, snap); err != nil || d != nil {
		t.Errorf("none: %+v, %v", d, err)
	}
	if _, err := declared.Choose([]*inventory.Declaration{b, c}, snap); !errors.Is(err, declared.ErrAmbiguous) || !strings.Contains(err.Error(), "(b, c)") {
		t.Errorf("several: %v", err)
	}
}
