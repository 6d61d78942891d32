package resolve

import (
	"slices"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// NAT implements detect.Resolver: whether the snapshot in force now
// marks the interface as a NAT gateway's or a NAT instance's. It never
// calls Lookup (it runs per interface on the records' path): a NAT created
// after the last sync is known from the next one, or at once from v11's
// interface-type.
func (r *Resolver) NAT(eni string) bool {
	if eni == "" || eni == "-" {
		return false
	}
	x := r.index(time.Time{})
	return x != nil && x.IsNAT(eni)
}

// NATInterfaces returns the interfaces the newest snapshot marks as NAT:
// every interface NAT reports (it never looks further).
func (r *Resolver) NATInterfaces() []string {
	if x := r.index(time.Time{}); x != nil {
		return x.NATInterfaces()
	}
	return nil
}

// NATInterfacesOver returns the interfaces marked as NAT by the newest
// snapshot or by any in force from one time to the other (zero times: the
// newest only). Interface IDs are never reused, so an interface a NAT
// replaced since (a NAT gateway or instance created anew) still stands for
// the hosts behind it in the records of its time, as `flowq detect` over
// history meets them; and one a sync found after the records were written
// does too.
func (r *Resolver) NATInterfacesOver(from, to time.Time) []string {
	newest := r.index(time.Time{})
	if newest == nil {
		return nil
	}
	if from.IsZero() {
		return newest.NATInterfaces()
	}
	in := []*inventory.Index{newest}
	add := func(x *inventory.Index) {
		if x != nil && !slices.Contains(in, x) {
			in = append(in, x)
		}
	}
	add(r.index(from))
	if sp, ok := r.snaps.(spanner); ok {
		// The snapshots that come into force up to to: a batch spans
		// minutes, an hour at most, so few; at most 2 between (a record
		// with a time far off, in milliseconds, must not make every batch
		// read the whole archive, nor push the newest out of Open's 4).
		t := from.Unix()
		for range 2 {
			_, until := sp.Span(time.Unix(t, 0))
			if until <= t || until > to.Unix() {
				break
			}
			t = until
			add(r.index(time.Unix(t, 0)))
		}
	}
	add(r.index(to))
	if len(in) == 1 {
		return newest.NATInterfaces()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Equal(r.natKey, in) {
		return r.natUnion
	}
	var list []string
	for _, x := range in {
		list = append(list, x.NATInterfaces()...)
	}
	slices.Sort(list)
	r.natKey, r.natUnion = in, slices.Compact(list)
	return r.natUnion
}
