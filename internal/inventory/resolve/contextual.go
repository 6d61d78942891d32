package resolve

import (
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
)

// Contextual builds the detectors for cfg with the inventory kept in meta
// (the lake): alerts name their resources, records on NAT interfaces are
// left out, and the policy detector runs when cfg enables it (Detectors
// nil, or listing "policy"). Without any snapshot they behave as the plain
// engine (v11's interface-type still marks NAT gateways' records).
func Contextual(meta inventory.MetaStore, cfg detect.Config, st detect.State, now func() time.Time, opts Options, engOpts ...detect.Option) (*detect.Contextual, error) {
	return Open(meta, 0, opts).Contextual(cfg, st, now, engOpts...)
}

// Contextual builds the detectors for cfg over r (see the package's
// Contextual): the pipelines of one process (the Lambda's CloudWatch Logs
// path and its collector) share r's snapshots and its EC2 lookups.
func (r *Resolver) Contextual(cfg detect.Config, st detect.State, now func() time.Time, engOpts ...detect.Option) (*detect.Contextual, error) {
	eng, err := detect.New(cfg, st, now, append(engOpts, detect.WithResolver(r))...)
	if err != nil {
		return nil, err
	}
	var pol *detect.PolicyDetector
	if cfg.Enabled(detect.Policy) {
		if pol, err = detect.NewPolicyDetector(r, st, now, cfg, r); err != nil {
			return nil, err
		}
	}
	return detect.NewContextual(eng, r.NAT, pol).WithNATListOver(r.NATInterfacesOver), nil
}
