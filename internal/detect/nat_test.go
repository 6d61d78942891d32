package detect_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
)

// natRecords are AWS's documented NAT gateway records (flow-logs-records-
// examples): an instance (10.0.1.5, eni-1111aaaa) sends 1.4 MB to
// 203.0.113.5 through a NAT gateway (10.0.0.220, eni-2222bbbb). Fields:
// interface, srcaddr, dstaddr, pkt-srcaddr, pkt-dstaddr, srcport, dstport,
// bytes; then the instance-id and interface-type the interface has.
var natRecords = [][]string{
	// On the instance's interface: the request and the reply.
	{"eni-1111aaaa", "10.0.1.5", "203.0.113.5", "10.0.1.5", "203.0.113.5", "43512", "443", "1400000", "i-0123456789abcdef0", "interface"},
	{"eni-1111aaaa", "203.0.113.5", "10.0.1.5", "203.0.113.5", "10.0.1.5", "443", "43512", "40000", "i-0123456789abcdef0", "interface"},
	// On the NAT gateway's interface: instance to NAT, NAT to the internet,
	// and the replies reversed.
	{"eni-2222bbbb", "10.0.1.5", "10.0.0.220", "10.0.1.5", "203.0.113.5", "43512", "443", "1400000", "-", "nat_gateway"},
	{"eni-2222bbbb", "10.0.0.220", "203.0.113.5", "10.0.0.220", "203.0.113.5", "61000", "443", "1400000", "-", "nat_gateway"},
	{"eni-2222bbbb", "203.0.113.5", "10.0.0.220", "203.0.113.5", "10.0.0.220", "443", "61000", "40000", "-", "nat_gateway"},
	{"eni-2222bbbb", "10.0.0.220", "10.0.1.5", "203.0.113.5", "10.0.1.5", "443", "43512", "40000", "-", "nat_gateway"},
}

// natText writes natRecords in a format with the given fields.
func natText(fields []string) string {
	var b strings.Builder
	b.WriteString(strings.Join(fields, " ") + "\n")
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).Unix()
	for _, r := range natRecords {
		val := map[string]string{
			"version": "2", "account-id": "123456789010", "interface-id": r[0], "srcaddr": r[1], "dstaddr": r[2],
			"pkt-srcaddr": r[3], "pkt-dstaddr": r[4], "srcport": r[5], "dstport": r[6], "protocol": "6", "packets": "1000",
			"bytes": r[7], "start": fmt.Sprint(start), "end": fmt.Sprint(start + 60), "action": "ACCEPT", "log-status": "OK",
			"instance-id": r[8], "interface-type": r[9],
		}
		var vs []string
		for _, f := range fields {
			vs = append(vs, val[f])
		}
		b.WriteString(strings.Join(vs, " ") + "\n")
	}
	return b.String()
}

// natInventory knows the instance and the NAT gateway.
func natInventory() *resolve.Resolver {
	snap := &inventory.Snapshot{Version: 1, Taken: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Subnets: []inventory.Subnet{{ID: "subnet-pub", Name: "public-a", VPCID: "vpc-1", CIDRs: []string{"10.0.0.0/24"}},
			{ID: "subnet-app", Name: "app-a", VPCID: "vpc-1", CIDRs: []string{"10.0.1.0/24"}}},
		Interfaces: []inventory.Interface{
			{ID: "eni-1111aaaa", Type: "interface", InstanceID: "i-0123456789abcdef0", SubnetID: "subnet-app", PrivateIPs: []string{"10.0.1.5"}, SecurityGroups: []string{"sg-web"}, SourceDestCheck: true},
			{ID: "eni-2222bbbb", Type: "nat_gateway", SubnetID: "subnet-pub", PrivateIPs: []string{"10.0.0.220"}, RequesterManaged: true, SourceDestCheck: true},
		},
		Instances:      []inventory.Instance{{ID: "i-0123456789abcdef0", Name: "web-1"}},
		SecurityGroups: []inventory.SecurityGroup{{ID: "sg-web", Name: "web-sg"}},
		NATGateways:    []inventory.NATGateway{{ID: "nat-0abc", SubnetID: "subnet-pub", ENIs: []string{"eni-2222bbbb"}, PrivateIPs: []string{"10.0.0.220"}}},
	}
	x := inventory.NewIndex(snap)
	return resolve.New(fixed{x}, resolve.Options{})
}

type fixed struct{ x *inventory.Index }

func (f fixed) AsOf(context.Context, time.Time) (*inventory.Index, error) { return f.x, nil }

// TestNATAttribution: one transfer through a NAT gateway raises one
// exfiltration alert, from the instance and naming it, whether the records
// carry only the default fields, pkt-* fields, or v11's interface-type
// (then no inventory is needed). Without SkipNAT the default format raises
// a second alert from the NAT's address, and pkt-* fields double the bytes.
func TestNATAttribution(t *testing.T) {
	v2 := strings.Fields("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")
	pkt := strings.Fields("instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol packets bytes start end action log-status")
	v11 := strings.Fields("interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status interface-type")
	for _, tc := range []struct {
		name     string
		fields   []string
		resolver bool
		skip     bool
		want     []string
	}{
		{"default format, as before: a second alert from the NAT", v2, false, false, []string{"10.0.0.220->203.0.113.5 1400000", "10.0.1.5->203.0.113.5 1400000"}},
		{"default format with the inventory", v2, true, true, []string{"10.0.1.5->203.0.113.5 1400000"}},
		{"pkt-* fields, as before: the bytes counted twice", pkt, false, false, []string{"10.0.0.220->203.0.113.5 1400000", "10.0.1.5->203.0.113.5 2800000"}},
		{"pkt-* fields with the inventory", pkt, true, true, []string{"10.0.1.5->203.0.113.5 1400000"}},
		{"v11 interface-type, no inventory", v11, false, true, []string{"10.0.1.5->203.0.113.5 1400000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			now := time.Date(2026, 11, 30, 10, 10, 0, 0, time.UTC)
			var opts []detect.Option
			var isNAT func(string) bool
			if tc.resolver {
				r := natInventory()
				opts, isNAT = append(opts, detect.WithResolver(r)), r.NAT
			}
			eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return now }, opts...)
			if err != nil {
				t.Fatal(err)
			}
			rd := parse.NewReader(strings.NewReader(natText(tc.fields)), parse.Options{Allocator: mem})
			defer rd.Release()
			var got []string
			var alerts []detect.Alert
			for rd.Next() {
				batches := []arrow.RecordBatch{rd.RecordBatch()}
				if tc.skip {
					runs, _ := detect.SkipNAT(rd.RecordBatch(), isNAT)
					batches = runs
					defer func() {
						for _, r := range runs {
							r.Release()
						}
					}()
				}
				for k, b := range batches {
					as, err := eng.Process(context.Background(), fmt.Sprintf("nat#%d", k), b)
					if err != nil {
						t.Fatal(err)
					}
					alerts = append(alerts, as...)
				}
			}
			if err := rd.Err(); err != nil {
				t.Fatal(err)
			}
			for _, a := range alerts {
				if a.Detector == detect.Exfiltration {
					got = append(got, fmt.Sprintf("%s->%s %d", a.Src, a.Dst, a.Bytes))
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("exfiltration alerts %v, want %v", got, tc.want)
			}
			if tc.resolver && len(alerts) > 0 {
				a := alerts[0]
				if a.SrcResource == nil || a.SrcResource.Name != "web-1" || a.SrcResource.ENI != "eni-1111aaaa" || a.SrcResource.InstanceID != "i-0123456789abcdef0" {
					t.Errorf("source resource %+v, want web-1 on eni-1111aaaa", a.SrcResource)
				}
				if !strings.HasPrefix(a.Title, "exfiltration 10.0.1.5 (web-1) -> 203.0.113.5 ") {
					t.Errorf("title %q does not name the instance", a.Title)
				}
				if a.DstResource != nil {
					t.Errorf("internet destination named: %+v", a.DstResource)
				}
			}
		})
	}
}

// dictionaryENIs returns rec with its interface-id column dictionary
// encoded, as the lake's Parquet files hold it.
func dictionaryENIs(t *testing.T, mem memory.Allocator, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	col := rec.Schema().FieldIndices(parse.ColInterfaceID)[0]
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	src := rec.Column(col).(*array.String)
	for i := range src.Len() {
		if err := b.AppendString(src.Value(i)); err != nil {
			t.Fatal(err)
		}
	}
	d := b.NewArray()
	defer d.Release()
	fields := rec.Schema().Fields()
	fields[col] = arrow.Field{Name: parse.ColInterfaceID, Type: dt, Nullable: true}
	cols := append([]arrow.Array(nil), rec.Columns()...)
	cols[col] = d
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// TestNATListInPlace: with the snapshot's list of NAT interfaces the
// Contextual compares the records' interface IDs with it in place, on the
// parser's plain strings and on the lake's dictionaries, and leaves out the
// same NAT legs as asking the resolver about each: one exfiltration alert,
// from the instance.
func TestNATListInPlace(t *testing.T) {
	v2 := strings.Fields("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")
	now := time.Date(2026, 11, 30, 10, 10, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		list, dict bool
	}{
		{"ask per interface", false, false},
		{"list, plain strings", true, false},
		{"list, dictionary", true, true},
		{"ask per interface, dictionary", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := natInventory()
			eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return now }, detect.WithResolver(r))
			if err != nil {
				t.Fatal(err)
			}
			c := detect.NewContextual(eng, r.NAT, nil)
			if tc.list {
				c = c.WithNATList(r.NATInterfaces)
			}
			rd := parse.NewReader(strings.NewReader(natText(v2)), parse.Options{Allocator: mem})
			defer rd.Release()
			var got []string
			for k := 0; rd.Next(); k++ {
				rec := rd.RecordBatch()
				if tc.dict {
					rec = dictionaryENIs(t, mem, rec)
					defer rec.Release()
				}
				alerts, err := c.Process(context.Background(), fmt.Sprint("nat", k), rec)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range alerts {
					got = append(got, fmt.Sprintf("%s %s->%s %d", a.Detector, a.Src, a.Dst, a.Bytes))
				}
			}
			if err := rd.Err(); err != nil {
				t.Fatal(err)
			}
			if want := []string{"exfiltration 10.0.1.5->203.0.113.5 1400000"}; !slices.Equal(got, want) {
				t.Errorf("alerts %v, want %v", got, want)
			}
			if _, skipped := c.Summary(); skipped != 4 {
				t.Errorf("%d records left out, want the NAT's 4", skipped)
			}
		})
	}
}
