// Package declared reads the rules a deployment declares: flowq's CDK app
// publishes each security group and network ACL of its network stack as an
// SSM parameter under /flowq/<app>/declared (infra/stacks/declared.go), with
// the IDs CloudFormation resolved at deploy time. Parse turns the published
// values into an inventory.Declaration; Read fetches them with
// ssm:GetParametersByPath.
package declared

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// Version is the version of the published values this package reads.
const Version = 1

// Kinds of published values.
const (
	KindGroup = "security-group"
	KindACL   = "network-acl"
)

// Param is one published parameter: its name and value.
type Param struct {
	Name  string
	Value string
}

// value is a published value: CloudFormation's property names, as the CDK
// app renders its constructs' rules.
type value struct {
	Version int       `json:"version"`
	Kind    string    `json:"kind"`
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Ingress []sgRule  `json:"ingress"`
	Egress  []sgRule  `json:"egress"`
	Entries []aclRule `json:"entries"`
}

type sgRule struct {
	IPProtocol                 flexString `json:"ipProtocol"`
	FromPort                   *flexInt   `json:"fromPort"`
	ToPort                     *flexInt   `json:"toPort"`
	CidrIP                     string     `json:"cidrIp"`
	CidrIPv6                   string     `json:"cidrIpv6"`
	SourceSecurityGroupID      string     `json:"sourceSecurityGroupId"`
	DestinationSecurityGroupID string     `json:"destinationSecurityGroupId"`
	SourcePrefixListID         string     `json:"sourcePrefixListId"`
	DestinationPrefixListID    string     `json:"destinationPrefixListId"`
	SourceSecurityGroupName    string     `json:"sourceSecurityGroupName"`
	Description                string     `json:"description"`
}

type aclRule struct {
	RuleNumber    flexInt    `json:"ruleNumber"`
	Protocol      flexString `json:"protocol"`
	RuleAction    string     `json:"ruleAction"`
	Egress        flexBool   `json:"egress"`
	CidrBlock     string     `json:"cidrBlock"`
	IPv6CidrBlock string     `json:"ipv6CidrBlock"`
	PortRange     *struct {
		From *flexInt `json:"from"`
		To   *flexInt `json:"to"`
	} `json:"portRange"`
}

// Parse reads the published values into a declaration (source and read are
// recorded in it). Parts of one group or ACL (…/Name/1, …/Name/2) merge by
// name and ID (two resources whose IDs did not resolve stay apart). An error names the parameter, the rule and the field; values of other
// kinds or newer versions are errors too, so nothing declared is silently
// left out.
func Parse(params []Param, source string, read time.Time) (*inventory.Declaration, error) {
	d := &inventory.Declaration{Source: source, Read: read.UTC(), SecurityGroups: []inventory.SecurityGroup{}, NetworkACLs: []inventory.NetworkACL{}}
	groups, acls := map[string]int{}, map[string]int{}
	var errs []error
	for _, p := range params {
		var v value
		dec := json.NewDecoder(strings.NewReader(p.Value))
		if err := dec.Decode(&v); err != nil {
			errs = append(errs, fmt.Errorf("declared %s: %w", p.Name, err))
			continue
		}
		if v.Version < 1 || v.Version > Version {
			errs = append(errs, fmt.Errorf("declared %s: version %d, this flowq reads 1..%d", p.Name, v.Version, Version))
			continue
		}
		if v.ID == "" {
			errs = append(errs, fmt.Errorf("declared %s: no id", p.Name))
			continue
		}
		switch v.Kind {
		case KindGroup:
			i, ok := groups[v.Name+" "+v.ID]
			if !ok {
				i = len(d.SecurityGroups)
				groups[v.Name+" "+v.ID] = i
				d.SecurityGroups = append(d.SecurityGroups, inventory.SecurityGroup{ID: v.ID, Name: v.Name, Ingress: []inventory.SGRule{}, Egress: []inventory.SGRule{}})
			}
			g := &d.SecurityGroups[i]
			for n, r := range v.Ingress {
				rule, err := r.rule(true)
				if err != nil {
					errs = append(errs, fmt.Errorf("declared %s: ingress rule %d: %w", p.Name, n+1, err))
					continue
				}
				g.Ingress = append(g.Ingress, rule)
			}
			for n, r := range v.Egress {
				rule, err := r.rule(false)
				if err != nil {
					errs = append(errs, fmt.Errorf("declared %s: egress rule %d: %w", p.Name, n+1, err))
					continue
				}
				g.Egress = append(g.Egress, rule)
			}
		case KindACL:
			i, ok := acls[v.Name+" "+v.ID]
			if !ok {
				i = len(d.NetworkACLs)
				acls[v.Name+" "+v.ID] = i
				d.NetworkACLs = append(d.NetworkACLs, inventory.NetworkACL{ID: v.ID, Name: v.Name, Subnets: []string{}, Entries: []inventory.ACLEntry{}})
			}
			a := &d.NetworkACLs[i]
			for n, e := range v.Entries {
				entry, err := e.entry()
				if err != nil {
					errs = append(errs, fmt.Errorf("declared %s: entry %d: %w", p.Name, n+1, err))
					continue
				}
				a.Entries = append(a.Entries, entry)
			}
		default:
			errs = append(errs, fmt.Errorf("declared %s: kind %q, want %s or %s", p.Name, v.Kind, KindGroup, KindACL))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(d.SecurityGroups, func(a, b inventory.SecurityGroup) int { return strings.Compare(a.ID+a.Name, b.ID+b.Name) })
	slices.SortFunc(d.NetworkACLs, func(a, b inventory.NetworkACL) int { return strings.Compare(a.ID+a.Name, b.ID+b.Name) })
	return d, nil
}

func (r sgRule) rule(ingress bool) (inventory.SGRule, error) {
	out := inventory.SGRule{Protocol: string(r.IPProtocol), FromPort: -1, ToPort: -1, Description: r.Description}
	if out.Protocol == "" {
		return out, errors.New("ipProtocol: missing")
	}
	if _, ok := inventory.ProtocolNumber(out.Protocol); !ok {
		return out, fmt.Errorf("ipProtocol %q: want tcp, udp, icmp, icmpv6, -1 or a protocol number", out.Protocol)
	}
	if r.FromPort != nil {
		out.FromPort = int(*r.FromPort)
	}
	if r.ToPort != nil {
		out.ToPort = int(*r.ToPort)
	}
	group, prefix := r.DestinationSecurityGroupID, r.DestinationPrefixListID
	if ingress {
		group, prefix = r.SourceSecurityGroupID, r.SourcePrefixListID
	}
	var peers []string
	for _, p := range []struct{ field, v string }{{"cidrIp", r.CidrIP}, {"cidrIpv6", r.CidrIPv6}, {"group", group}, {"prefix list", prefix}} {
		if p.v != "" {
			peers = append(peers, p.field)
		}
	}
	switch {
	case r.SourceSecurityGroupName != "":
		return out, fmt.Errorf("sourceSecurityGroupName %q: name a group by its id (sourceSecurityGroupId)", r.SourceSecurityGroupName)
	case len(peers) == 0:
		return out, errors.New("no peer (cidrIp, cidrIpv6, a group id or a prefix list id)")
	case len(peers) > 1:
		return out, fmt.Errorf("%s: one peer per rule", strings.Join(peers, " and "))
	}
	out.CIDR = r.CidrIP + r.CidrIPv6
	out.Group, out.PrefixList = group, prefix
	return out, nil
}

func (e aclRule) entry() (inventory.ACLEntry, error) {
	out := inventory.ACLEntry{Number: int(e.RuleNumber), Egress: bool(e.Egress), Protocol: string(e.Protocol), FromPort: -1, ToPort: -1}
	if out.Number < 1 || out.Number > 32766 {
		return out, fmt.Errorf("ruleNumber %d: want 1 to 32766", out.Number)
	}
	if _, ok := inventory.ProtocolNumber(out.Protocol); !ok || out.Protocol == "" {
		return out, fmt.Errorf("protocol %q: want -1 or a protocol number", out.Protocol)
	}
	switch strings.ToLower(e.RuleAction) {
	case "allow":
		out.Allow = true
	case "deny":
	default:
		return out, fmt.Errorf("ruleAction %q: want allow or deny", e.RuleAction)
	}
	switch {
	case e.CidrBlock != "" && e.IPv6CidrBlock != "":
		return out, errors.New("cidrBlock and ipv6CidrBlock: one per entry")
	case e.CidrBlock == "" && e.IPv6CidrBlock == "":
		return out, errors.New("no cidrBlock or ipv6CidrBlock")
	}
	out.CIDR = e.CidrBlock + e.IPv6CidrBlock
	if e.PortRange != nil {
		if e.PortRange.From != nil {
			out.FromPort = int(*e.PortRange.From)
		}
		if e.PortRange.To != nil {
			out.ToPort = int(*e.PortRange.To)
		}
	}
	return out, nil
}

// flexString is a string or a number (CloudFormation renders a protocol
// number either way).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%s: want a string or a number", b)
	}
	*f = flexString(n.String())
	return nil
}

// flexInt is a whole number, or a string holding one.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n != float64(int(n)) {
		return fmt.Errorf("%s: want a whole number", b)
	}
	*f = flexInt(n)
	return nil
}

// flexBool is a boolean, or a string holding one.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseBool(string(bytes.Trim(b, `"`)))
	if err != nil {
		return fmt.Errorf("%s: want true or false", b)
	}
	*f = flexBool(v)
	return nil
}
