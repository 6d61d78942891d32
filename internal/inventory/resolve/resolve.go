// Package resolve names the resources behind alerts' addresses from the
// inventory (detect.Resolver) and judges flows against the rules of their
// time (detect.PolicyJudge). Lookups the snapshots cannot answer may go to
// the EC2 API, at most once per interface or address, with bounded caches;
// any failure degrades to an alert with addresses only, never a lost one.
package resolve

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
)

// Snapshots picks the snapshot in force at a time (*inventory.Archive).
// One that also has a method Span(t time.Time) (from, until int64), the
// Unix seconds over which the snapshot in force at t stays in force, lets
// the policy detector keep its verdicts across records of that span
// (Open's does); without it the rules are looked up again every second.
type Snapshots interface {
	AsOf(ctx context.Context, t time.Time) (*inventory.Index, error)
}

// Lookup finds one interface through the EC2 API: by ID, or by a private
// address when eni is "". It returns nil, nil when there is none.
type Lookup func(ctx context.Context, eni, addr string) (*inventory.Interface, error)

// Options tune a Resolver.
type Options struct {
	// Lookup is asked about interfaces and addresses no snapshot knows
	// (nil: never).
	Lookup Lookup
	// CacheSize bounds the Lookup answers kept, found or not (default 4096).
	CacheSize int
	// Timeout bounds one Lookup call (default 2s).
	Timeout time.Duration
	// Logger receives failures, once per interface (default: discard).
	Logger *slog.Logger
	// Refresh is how often Open's snapshots are listed again, to see new
	// syncs (0: once; a long-running Lambda sets it).
	Refresh time.Duration
}

// Resolver implements detect.Resolver over inventory snapshots.
type Resolver struct {
	snaps Snapshots
	opts  Options
	log   *slog.Logger

	mu      sync.Mutex
	cache   map[string]*inventory.Interface // Lookup answers (nil: none)
	order   []string                        // cache keys, oldest first
	calls   int
	failed  int
	snapErr bool

	inflight singleflight.Group // lookups under way, by cache key

	rules  map[*inventory.Index]*rules  // the policy rules of recent snapshots
	placed map[*inventory.Index]*places // what several VPCs share, of recent snapshots

	natKey   []*inventory.Index // the snapshots of natUnion
	natUnion []string           // the last union of NAT interfaces
}

// New returns a Resolver over snaps (which may be nil: Lookup only).
func New(snaps Snapshots, opts Options) *Resolver {
	if opts.CacheSize <= 0 {
		opts.CacheSize = 4096
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{snaps: snaps, opts: opts, log: log, cache: map[string]*inventory.Interface{}, rules: map[*inventory.Index]*rules{},
		placed: map[*inventory.Index]*places{}}
}

// Stats are the Resolver's counters.
type Stats struct {
	Lookups, LookupFailures int
}

// Stats returns the counters so far.
func (r *Resolver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Lookups: r.calls, LookupFailures: r.failed}
}

// index returns the snapshot in force at t, or nil (logged once).
func (r *Resolver) index(t time.Time) *inventory.Index {
	if r.snaps == nil {
		return nil
	}
	x, err := r.snaps.AsOf(context.Background(), t)
	if errors.Is(err, inventory.ErrNoSnapshot) {
		return nil // never synced: nothing to say
	}
	if err != nil {
		r.mu.Lock()
		first := !r.snapErr
		r.snapErr = true
		r.mu.Unlock()
		if first {
			r.log.Warn("inventory unavailable: alerts name addresses only", "err", err)
		}
		return nil
	}
	return x
}

// Resolve implements detect.Resolver.
func (r *Resolver) Resolve(eni, addr string, at time.Time) *detect.Resource {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil
	}
	ip = ip.Unmap()
	if eni == "-" {
		eni = "" // a regional NAT gateway's record: no interface
	}
	x := r.index(at)
	var (
		ifc    *inventory.Interface
		from   = x // the snapshot ifc is named from
		pl     *places
		vpc    string // the VPC of the interface that logged the record
		known  bool   // a snapshot knows the interface eni
		shared bool   // interfaces of several VPCs hold addr
	)
	if x != nil {
		pl = r.placesOf(x)
	}
	if eni != "" {
		var e *inventory.Interface
		if x != nil {
			e = x.Interface(eni)
		}
		if e != nil {
			known, vpc = true, e.VPCID
			ifc = holding(e, ip)
		} else if next := r.next(at); next != nil && next != x {
			// An interface created since the snapshot in force (a task's,
			// a Lambda's) is in the next one: an interface ID is never
			// reused.
			if e := next.Interface(eni); e != nil {
				known, vpc = true, e.VPCID
				if ifc = holding(e, ip); ifc != nil {
					from = next
				}
			}
		}
		// Only a new interface is asked about: one a snapshot knows that
		// does not hold addr (an inbound alert's source) would not either.
		if ifc == nil && !known && r.opts.Lookup != nil && interfaceID(eni) {
			if e := r.lookup(eni, ""); e != nil {
				vpc = e.VPCID
				ifc = holding(e, ip)
			}
		}
	}
	if ifc == nil && x != nil {
		ifc, shared = pl.iface(x, ip, vpc)
	}
	var sub *inventory.Subnet
	subShared := false
	if ifc == nil && x != nil {
		sub, subShared = pl.subnet(x, ip, vpc)
	}
	// By address, the API answers region-wide: not for an address several
	// VPCs use unless the record tells which, and only an interface of the
	// VPC the record or the snapshot places addr in.
	if ifc == nil && r.opts.Lookup != nil && ip.IsPrivate() && (vpc != "" || !shared && !subShared) {
		want := vpc
		if want == "" && sub != nil {
			want = sub.VPCID
		}
		if e := r.lookup("", ip.String()); e != nil && (want == "" || e.VPCID == want) {
			ifc = e
		}
	}
	if ifc == nil {
		if sub != nil {
			return &detect.Resource{SubnetID: sub.ID, SubnetName: sub.Name}
		}
		return nil
	}
	return resource(from, ifc)
}

// interfaceID reports whether s looks like an interface ID (eni- and up to
// 32 lower-case letters and digits; AWS's have 8 or 17 hex digits): a
// record's field that does not (garbled, another resource's) is not worth
// an EC2 call.
func interfaceID(s string) bool {
	id, ok := strings.CutPrefix(s, "eni-")
	if !ok || len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := range len(id) {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// next returns the snapshot that comes into force after the one in force
// at t (the newest, when the snapshots cannot tell), or nil.
func (r *Resolver) next(t time.Time) *inventory.Index {
	sp, ok := r.snaps.(spanner)
	if !ok {
		return r.index(time.Time{})
	}
	_, until := sp.Span(t)
	if until == math.MaxInt64 {
		return nil
	}
	return r.index(time.Unix(until, 0))
}

// placesOf returns what several VPCs of x share, worked out once per
// snapshot.
func (r *Resolver) placesOf(x *inventory.Index) *places {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.placed[x]; ok {
		return p
	}
	if len(r.placed) >= 8 {
		clear(r.placed)
	}
	p := newPlaces(x)
	r.placed[x] = p
	return p
}

// holding returns ifc if it holds addr (the record that named the
// interface may have been logged for the other end), else nil.
func holding(ifc *inventory.Interface, addr netip.Addr) *inventory.Interface {
	if ifc == nil {
		return nil
	}
	for _, list := range [][]string{ifc.PrivateIPs, ifc.IPv6, ifc.PublicIPs} {
		for _, a := range list {
			if ip, err := netip.ParseAddr(a); err == nil && ip == addr {
				return ifc
			}
		}
	}
	return nil
}

// resource turns an interface into the alert's Resource, with names from
// the snapshot x (nil: IDs only).
func resource(x *inventory.Index, ifc *inventory.Interface) *detect.Resource {
	res := &detect.Resource{ENI: ifc.ID, InstanceID: ifc.InstanceID, SubnetID: ifc.SubnetID, InterfaceType: ifc.Type,
		Description: ifc.Description, Name: ifc.Tags["Name"]}
	for _, g := range ifc.SecurityGroups {
		ref := detect.GroupRef{ID: g}
		if x != nil {
			if sg := x.SecurityGroup(g); sg != nil {
				ref.Name = sg.Name
			}
		}
		res.SecurityGroups = append(res.SecurityGroups, ref)
	}
	if x != nil {
		res.Name = x.Name(ifc)
		if sub := x.Subnet(ifc.SubnetID); sub != nil {
			res.SubnetName = sub.Name
		}
	}
	return res
}

// Open returns a Resolver over the snapshots kept in meta (the lake),
// holding at most keep of them indexed (0 = 4). The snapshots are listed on
// first use and again every opts.Refresh; a failure to read them is logged
// and leaves alerts with addresses only.
func Open(meta inventory.MetaStore, keep int, opts Options) *Resolver {
	return New(&lakeSnapshots{meta: meta, keep: keep, every: opts.Refresh}, opts)
}

// lakeSnapshots opens the lake's archive lazily and lists it again every
// so often.
type lakeSnapshots struct {
	meta  inventory.MetaStore
	keep  int
	every time.Duration

	mu     sync.Mutex
	arch   *inventory.Archive
	listed time.Time
	err    error
}

func (l *lakeSnapshots) AsOf(ctx context.Context, t time.Time) (*inventory.Index, error) {
	l.mu.Lock()
	if l.listed.IsZero() || (l.every > 0 && time.Since(l.listed) > l.every) {
		l.listed = time.Now()
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if l.arch == nil {
			l.arch, l.err = inventory.OpenArchive(lctx, l.meta, l.keep)
		} else {
			l.err = l.arch.Refresh(lctx)
		}
		cancel()
	}
	arch, err := l.arch, l.err
	l.mu.Unlock()
	if arch == nil {
		return nil, err
	}
	return arch.AsOf(ctx, t)
}

// Span implements spanner from the archive's list: the snapshot in force
// at t (the newest taken at or before it; before the first, the first) is
// in force for the whole seconds from its time to the next one's.
func (l *lakeSnapshots) Span(t time.Time) (int64, int64) {
	l.mu.Lock()
	arch := l.arch
	l.mu.Unlock()
	if arch == nil {
		return t.Unix(), t.Unix() + 1
	}
	ts := arch.Times()
	// The newest taken at or before t; before the first, the first.
	i := max(0, sort.Search(len(ts), func(k int) bool { return ts[k].After(t) })-1)
	from, until := int64(math.MinInt64), int64(math.MaxInt64)
	if i >= 1 {
		from = ceilUnix(ts[i])
	}
	if i+1 < len(ts) {
		until = ceilUnix(ts[i+1])
	}
	return from, until
}

// ceilUnix is t in Unix seconds, rounded up: a record starting at a whole
// second s is judged by a snapshot taken at t from s >= ceilUnix(t) on.
func ceilUnix(t time.Time) int64 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return u
}
