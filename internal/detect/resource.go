package detect

import "time"

// Resource names the AWS resource behind an address in an alert, as a
// Resolver found it (an inventory of ENIs, instances, subnets, groups).
type Resource struct {
	ENI            string     `json:"eni,omitempty"`
	InstanceID     string     `json:"instance_id,omitempty"`
	SubnetID       string     `json:"subnet_id,omitempty"`
	SubnetName     string     `json:"subnet_name,omitempty"`
	SecurityGroups []GroupRef `json:"security_groups,omitempty"`
	InterfaceType  string     `json:"interface_type,omitempty"`
	Description    string     `json:"description,omitempty"`
	Name           string     `json:"name,omitempty"`
}

// GroupRef is a security group of a Resource.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Resolver tells which resource an address belonged to. The engine calls
// it, when one is given (WithResolver), to fill Alert.SrcResource and
// Alert.DstResource, and asks NAT about the interfaces that logged an
// alert's records. Implementations must be safe for concurrent use and
// cheap: they run once per alert, not per record.
type Resolver interface {
	// Resolve returns the resource that held addr at the given time, seen
	// on the interface eni ("" when unknown), or nil.
	Resolve(eni, addr string, at time.Time) *Resource
	// NAT reports whether eni is a NAT gateway's (or NAT instance's)
	// interface, whose records stand for the hosts behind it.
	NAT(eni string) bool
}

// Option tunes an Engine.
type Option func(*Engine)

// WithResolver names the resources of alerts' addresses through r.
func WithResolver(r Resolver) Option { return func(e *Engine) { e.resolver = r } }
