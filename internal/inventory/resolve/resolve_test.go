package resolve_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
)

// one is a Snapshots of a single snapshot.
type one struct{ x *inventory.Index }

func (o one) AsOf(context.Context, time.Time) (*inventory.Index, error) { return o.x, nil }

func (o one) Span(time.Time) (int64, int64) { return math.MinInt64, math.MaxInt64 }

type none struct{}

func (none) AsOf(context.Context, time.Time) (*inventory.Index, error) {
	return nil, inventory.ErrNoSnapshot
}

func demo() one { return one{inventory.NewIndex(inventory.DemoSnapshot(time.Unix(0, 0)))} }

func TestResolveFromSnapshot(t *testing.T) {
	r := resolve.New(demo(), resolve.Options{})
	at := time.Unix(100, 0)
	for _, tc := range []struct {
		name, eni, addr string
		want            *detect.Resource
	}{
		{"by interface", "eni-0a1b2c3d4e5f60011", "10.0.11.50", &detect.Resource{ENI: "eni-0a1b2c3d4e5f60011", SubnetID: "subnet-0priv1", SubnetName: "tradai-private-a",
			SecurityGroups: []detect.GroupRef{{ID: "sg-0ecs", Name: "tradai-ecs-sg"}}, InterfaceType: "interface", Description: "tradai-backend-api", Name: "tradai-backend-api"}},
		{"by address", "", "10.0.21.100", &detect.Resource{ENI: "eni-0a1b2c3d4e5f60021", SubnetID: "subnet-0db1", SubnetName: "tradai-db-a",
			SecurityGroups: []detect.GroupRef{{ID: "sg-0rds", Name: "tradai-rds-sg"}}, InterfaceType: "interface", Description: "tradai-postgres", Name: "tradai-postgres"}},
		{"nat instance named by its instance", "", "10.0.1.10", &detect.Resource{ENI: "eni-0a1b2c3d4e5f600aa", InstanceID: "i-0flowq0nat0001", SubnetID: "subnet-0pub1", SubnetName: "tradai-public-a",
			SecurityGroups: []detect.GroupRef{{ID: "sg-0nat", Name: "tradai-nat-sg"}}, InterfaceType: "interface", Name: "tradai-nat-instance"}},
		{"unknown host in a known subnet", "", "10.0.12.99", &detect.Resource{SubnetID: "subnet-0priv2", SubnetName: "tradai-private-b"}},
		{"internet", "", "203.0.113.77", nil},
		{"garbage", "", "not-an-ip", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(r.Resolve(tc.eni, tc.addr, at), tc.want); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
	if !r.NAT("eni-0a1b2c3d4e5f600aa") || r.NAT("eni-0a1b2c3d4e5f60011") || r.NAT("-") {
		t.Error("NAT: want only the NAT instance's interface")
	}
}

// TestLookupOncePerInterface: interfaces no snapshot knows (a Lambda's,
// created after the last sync) cost one EC2 call each however many alerts
// name them; failures degrade to no resource and are not retried per alert.
func TestLookupOncePerInterface(t *testing.T) {
	var calls atomic.Int32
	lookup := func(_ context.Context, eni, addr string) (*inventory.Interface, error) {
		calls.Add(1)
		switch {
		case eni == "eni-0new":
			return &inventory.Interface{ID: "eni-0new", Type: "lambda", SubnetID: "subnet-0priv1", PrivateIPs: []string{"10.0.11.77"}, SecurityGroups: []string{"sg-0lambda"}, SourceDestCheck: true}, nil
		case eni == "eni-0broken":
			return nil, errors.New("throttled")
		case eni == "eni-0nat":
			return &inventory.Interface{ID: "eni-0nat", Type: "nat_gateway", SourceDestCheck: true}, nil
		}
		return nil, nil
	}
	r := resolve.New(demo(), resolve.Options{Lookup: lookup, CacheSize: 2})
	for range 5 {
		got := r.Resolve("eni-0new", "10.0.11.77", time.Unix(0, 0))
		if got == nil || got.InterfaceType != "lambda" || got.SubnetName != "tradai-private-a" || got.SecurityGroups[0].Name != "tradai-lambda-sg" {
			t.Fatalf("new interface: %+v", got)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d lookups for one new interface, want 1", calls.Load())
	}
	for range 3 {
		if got := r.Resolve("eni-0broken", "10.0.12.88", time.Unix(0, 0)); got == nil || got.ENI != "" || got.SubnetID != "subnet-0priv2" {
			t.Errorf("failed lookup: %+v, want the subnet only", got)
		}
	}
	// One call by interface (failed), one by address (nothing there).
	if calls.Load() != 3 || r.Stats().LookupFailures != 1 {
		t.Errorf("after a failure: %d calls, %+v; want 3 calls, 1 failure", calls.Load(), r.Stats())
	}
	// NAT never asks the API (it runs on the records' path).
	if r.NAT("eni-0nat") {
		t.Error("NAT looked an unknown interface up")
	}
	// The cache holds 2: eni-0new was pushed out by the later answers.
	r.Resolve("eni-0new", "10.0.11.77", time.Unix(0, 0))
	if calls.Load() != 4 {
		t.Errorf("%d calls, want 4 (bounded cache evicted the oldest)", calls.Load())
	}
	// Public addresses are never looked up.
	r.Resolve("", "203.0.113.9", time.Unix(0, 0))
	if calls.Load() != 4 {
		t.Errorf("a public address was looked up")
	}
}

func TestNoInventory(t *testing.T) {
	r := resolve.New(none{}, resolve.Options{})
	if got := r.Resolve("eni-1", "10.0.11.50", time.Unix(0, 0)); got != nil {
		t.Errorf("no inventory: %+v, want nil", got)
	}
	if r.NAT("eni-1") {
		t.Error("no inventory: NAT")
	}
}

// TestLookupOnlyNewInterfaces: the EC2 API is asked only about interfaces
// the snapshot lacks. An inbound alert's source (a scanner on the
// internet, a peer in another network) is logged on an interface the
// snapshot knows: that interface is not new, and asking about it again
// for each interface an inbound scan touches costs EC2 calls (and their
// timeouts and throttling) for nothing. A regional NAT gateway's records
// carry the interface "-", which is no interface to ask about.
func TestLookupOnlyNewInterfaces(t *testing.T) {
	var calls []string
	lookup := func(_ context.Context, eni, addr string) (*inventory.Interface, error) {
		calls = append(calls, eni+"|"+addr)
		return nil, nil
	}
	r := resolve.New(demo(), resolve.Options{Lookup: lookup})
	at := time.Unix(100, 0)
	// A scan from the internet, logged on the task's and the database's
	// interfaces: the scanner is nobody we know.
	for _, eni := range []string{"eni-0a1b2c3d4e5f60011", "eni-0a1b2c3d4e5f60021"} {
		if got := r.Resolve(eni, "198.51.100.7", at); got != nil {
			t.Errorf("scanner on %s: %+v, want nil", eni, got)
		}
	}
	// "-": the interface of a regional NAT gateway's record; the address
	// is the task's.
	if got := r.Resolve("-", "10.0.11.50", at); got == nil || got.ENI != "eni-0a1b2c3d4e5f60011" {
		t.Errorf("interface \"-\": %+v, want the task", got)
	}
	// An address no snapshot knows is asked about by address only.
	r.Resolve("-", "10.0.12.99", at)
	if want := []string{"|10.0.12.99"}; !slices.Equal(calls, want) {
		t.Errorf("EC2 asked %q, want %q: never about interfaces the snapshot knows, nor \"-\"", calls, want)
	}
}

// TestLookupOnceConcurrently: alerts naming the same new interface at once
// (the policy detector runs beside the engine, and both name the alerts'
// hosts) cost one EC2 call, not one each: the callers wait for the first.
func TestLookupOnceConcurrently(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	lookup := func(_ context.Context, eni, addr string) (*inventory.Interface, error) {
		calls.Add(1)
		<-release
		return &inventory.Interface{ID: "eni-0new", Type: "lambda", SubnetID: "subnet-0priv1", VPCID: "vpc-0flowq0seed0001", PrivateIPs: []string{"10.0.11.77"}}, nil
	}
	r := resolve.New(demo(), resolve.Options{Lookup: lookup})
	const n = 8
	var wg sync.WaitGroup
	got := make([]*detect.Resource, n)
	for i := range n {
		wg.Go(func() { got[i] = r.Resolve("eni-0new", "10.0.11.77", time.Unix(0, 0)) })
	}
	time.Sleep(50 * time.Millisecond) // every caller in flight
	close(release)
	wg.Wait()
	if c := calls.Load(); c != 1 {
		t.Errorf("%d EC2 calls for one new interface asked about by %d alerts at once, want 1", c, n)
	}
	for i, res := range got {
		if res == nil || res.ENI != "eni-0new" {
			t.Errorf("caller %d: %+v", i, res)
		}
	}
}

// TestLookupOnlyInterfaceIDs: a record's interface field that is no
// interface ID (garbled, hostile, another resource's ID) is never sent to
// EC2: each distinct one would cost a call (and a timeout) for nothing.
func TestLookupOnlyInterfaceIDs(t *testing.T) {
	var calls []string
	lookup := func(_ context.Context, eni, addr string) (*inventory.Interface, error) {
		calls = append(calls, (eni + "|" + addr)[:min(40, len(eni)+1+len(addr))])
		return nil, nil
	}
	r := resolve.New(demo(), resolve.Options{Lookup: lookup})
	for _, eni := range []string{"eni-", "eni-0a1b-2c3d", "nat-0abc1234", "i-0123456789abcdef0", "eni-0123\x00\xff", "ENI-0A1B2C3D", strings.Repeat("eni-0", 1000)} {
		r.Resolve(eni, "203.0.113.9", time.Unix(0, 0))
	}
	r.Resolve("eni-0a1b2c3d", "203.0.113.9", time.Unix(0, 0))          // 8 hex digits: an ID
	r.Resolve("eni-0a1b2c3d4e5f60077", "203.0.113.9", time.Unix(0, 0)) // 17
	if want := []string{"eni-0a1b2c3d|", "eni-0a1b2c3d4e5f60077|"}; !slices.Equal(calls, want) {
		t.Errorf("EC2 asked %q, want %q", calls, want)
	}
}
