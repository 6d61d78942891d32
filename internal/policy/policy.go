// Package policy evaluates a network's rules for one flow: the route tables,
// network ACLs (stateless: both directions, in rule-number order, ephemeral
// ports on the return path) and security groups (stateful: by CIDR, group
// reference or prefix list, any protocol, IPv4 and IPv6) of both ends, and
// of a NAT on the way to the internet, as an inventory snapshot records
// them. It says whether the flow is allowed and which layer and rule
// decided.
package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// Layers that decide a verdict.
const (
	LayerRoute = "route"
	LayerACL   = "network-acl"
	LayerSG    = "security-group"
)

// Verdicts and step results.
const (
	Allow = "allow"
	Deny  = "deny"
	Skip  = "skip" // not checkable from the snapshot (unknown interface)
)

// EphemeralPort is the client port assumed for the return path through the
// network ACLs when a query gives none: inside Linux's (32768-60999),
// Windows' (49152-65535) and NAT gateways' and load balancers'
// (1024-65535) ranges.
const EphemeralPort = 49152

// Query is one flow to judge: a connection from Src to Dst:DstPort.
type Query struct {
	Src, Dst netip.Addr
	DstPort  int
	SrcPort  int // the client's port; 0 = EphemeralPort
	Protocol int // IANA number: 6 tcp, 17 udp, 1 icmp, 58 icmpv6, ...
}

// Validate reports every problem of the query at once.
func (q Query) Validate() error {
	var errs []string
	if !q.Src.IsValid() {
		errs = append(errs, "source address missing")
	}
	if !q.Dst.IsValid() {
		errs = append(errs, "destination address missing")
	}
	if q.Src.IsValid() && q.Dst.IsValid() && q.Src.Unmap().Is4() != q.Dst.Unmap().Is4() {
		errs = append(errs, fmt.Sprintf("%s and %s are of different address families", q.Src, q.Dst))
	}
	if q.Protocol < 0 || q.Protocol > 255 {
		errs = append(errs, fmt.Sprintf("protocol %d: want 0-255", q.Protocol))
	}
	if (q.Protocol == 6 || q.Protocol == 17) && (q.DstPort < 0 || q.DstPort > 65535) {
		errs = append(errs, fmt.Sprintf("destination port %d: want 0-65535", q.DstPort))
	}
	if q.SrcPort < 0 || q.SrcPort > 65535 {
		errs = append(errs, fmt.Sprintf("source port %d: want 0-65535", q.SrcPort))
	}
	if len(errs) > 0 {
		return fmt.Errorf("query: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Endpoint is one end of the flow as the snapshot knows it.
type Endpoint struct {
	Address        string   `json:"address"`
	ENI            string   `json:"eni,omitempty"`
	Name           string   `json:"name,omitempty"`
	InstanceID     string   `json:"instance_id,omitempty"`
	InterfaceType  string   `json:"interface_type,omitempty"`
	SubnetID       string   `json:"subnet_id,omitempty"`
	SubnetName     string   `json:"subnet_name,omitempty"`
	SecurityGroups []string `json:"security_groups,omitempty"`
	Outside        bool     `json:"outside,omitempty"` // in no subnet of the snapshot
}

// Step is one check on the flow's path.
type Step struct {
	Layer  string `json:"layer"`
	Check  string `json:"check"`           // what was checked, e.g. "destination network acl, inbound"
	Result string `json:"result"`          // allow, deny or skip
	Rule   string `json:"rule"`            // the deciding rule, or why nothing decided
	Reply  bool   `json:"reply,omitempty"` // a check of the replies' path
}

// Result is the verdict on a query: the first deny on the path decides, and
// every check is listed in Steps (evaluation goes on after a deny, so a
// security group that would allow a flow a network ACL drops shows).
type Result struct {
	Verdict  string    `json:"verdict"`
	Layer    string    `json:"layer"`
	Rule     string    `json:"rule"`
	Src      Endpoint  `json:"src"`
	Dst      Endpoint  `json:"dst"`
	Protocol string    `json:"protocol"`
	DstPort  int       `json:"dst_port"`
	SrcPort  int       `json:"src_port"`
	Snapshot time.Time `json:"snapshot"`
	Steps    []Step    `json:"steps"`
}

// StepResult returns the result of the first step of a layer with the given
// check prefix ("" = any), or "" when there is none.
func (r *Result) StepResult(layer, check string) string {
	for _, s := range r.Steps {
		if s.Layer == layer && strings.HasPrefix(s.Check, check) {
			return s.Result
		}
	}
	return ""
}

// end is an endpoint with what the evaluation needs.
type end struct {
	addr   netip.Addr
	iface  *inventory.Interface
	subnet *inventory.Subnet
	groups []string
	// inside: addr is in its subnet's range (a private or IPv6 address),
	// not an interface's public address, which is reached from outside.
	inside bool
}

func locate(x *inventory.Index, addr netip.Addr) (end, Endpoint) {
	addr = addr.Unmap()
	e := end{addr: addr, iface: x.InterfaceByAddr(addr)}
	ep := Endpoint{Address: addr.String()}
	if e.iface != nil {
		e.subnet = x.Subnet(e.iface.SubnetID)
		e.groups = e.iface.SecurityGroups
		ep.ENI, ep.Name, ep.InstanceID, ep.InterfaceType = e.iface.ID, x.Name(e.iface), e.iface.InstanceID, e.iface.Type
		ep.SecurityGroups = e.groups
	}
	if e.subnet == nil {
		e.subnet = x.SubnetFor(addr)
	}
	if e.subnet != nil {
		ep.SubnetID, ep.SubnetName = e.subnet.ID, e.subnet.Name
		e.inside = e.iface == nil || inSubnet(x, e.subnet, addr)
	} else {
		ep.Outside = true
	}
	return e, ep
}

// Evaluate judges q against the snapshot indexed by x.
func Evaluate(x *inventory.Index, q Query) (Result, error) { return evaluate(x, q, false) }

// Quick is Evaluate without the rule texts (Rule is "" in the result and
// its steps): for judging many flows, when only the verdicts matter.
func Quick(x *inventory.Index, q Query) (Result, error) { return evaluate(x, q, true) }

func evaluate(x *inventory.Index, q Query, quiet bool) (Result, error) {
	if err := q.Validate(); err != nil {
		return Result{}, err
	}
	src, srcEP := locate(x, q.Src)
	dst, dstEP := locate(x, q.Dst)
	if srcEP.Outside && dstEP.Outside {
		return Result{}, fmt.Errorf("neither %s nor %s is in a subnet of the inventory taken %s", q.Src, q.Dst, x.Snap.Taken.Format(time.RFC3339))
	}
	srcPort := q.SrcPort
	if srcPort == 0 {
		srcPort = EphemeralPort
	}
	ev := &evaluation{x: x, q: q, src: src, dst: dst, srcPort: srcPort, quiet: quiet, steps: make([]Step, 0, 12)}
	ev.run()
	res := Result{
		Src: srcEP, Dst: dstEP, Protocol: ProtocolName(q.Protocol), DstPort: q.DstPort, SrcPort: srcPort,
		Snapshot: x.Snap.Taken, Steps: ev.steps, Verdict: Allow,
	}
	for _, s := range ev.steps {
		if s.Result == Deny {
			res.Verdict, res.Layer, res.Rule = Deny, s.Layer, s.Rule
			return res, nil
		}
	}
	res.Layer, res.Rule = decidingAllow(ev.steps)
	return res, nil
}

// GroupsAllow reports whether the security groups of both ends allow q's
// request (groups the snapshot does not know are not held against it): a
// quick test before a whole evaluation.
func GroupsAllow(x *inventory.Index, q Query) bool {
	if q.Validate() != nil {
		return false
	}
	src, _ := locate(x, q.Src)
	dst, _ := locate(x, q.Dst)
	ev := &evaluation{x: x, q: q, src: src, dst: dst, quiet: true, steps: make([]Step, 0, 2)}
	ev.securityGroups("source security groups, egress", src, dst, true, q.DstPort)
	ev.securityGroups("destination security groups, ingress", dst, src, false, q.DstPort)
	for _, s := range ev.steps {
		if s.Result == Deny {
			return false
		}
	}
	return true
}

// decidingAllow names the rule that let an allowed flow in: the
// destination's security group, else the source's, else the last network
// ACL or route that allowed it.
func decidingAllow(steps []Step) (string, string) {
	for _, pref := range []string{"destination security groups", "source security groups"} {
		for _, s := range steps {
			if s.Result == Allow && strings.HasPrefix(s.Check, pref) {
				return s.Layer, s.Rule
			}
		}
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Result == Allow {
			return steps[i].Layer, steps[i].Rule
		}
	}
	return "", ""
}

// inSubnet reports whether addr is in one of the subnet's ranges.
func inSubnet(x *inventory.Index, sub *inventory.Subnet, addr netip.Addr) bool {
	for _, c := range sub.CIDRs {
		if cidrContains(x, c, addr) {
			return true
		}
	}
	return false
}
