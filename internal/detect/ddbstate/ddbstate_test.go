package ddbstate_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/ddbstate"
	"github.com/flowq/flowq/internal/detect/detecttest"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

var tableSeq atomic.Int64

func newTable(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("flowq-state-%d", tableSeq.Add(1))
	if err := ddbstate.CreateTable(context.Background(), db, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestBehaviour runs detect's behavioural suite against DynamoDB on moto.
func TestBehaviour(t *testing.T) {
	srv := motoserver.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	detecttest.Run(t, func(t *testing.T) detect.State {
		return ddbstate.New(db, newTable(t, db), ddbstate.Options{})
	})
}

func TestItemShape(t *testing.T) {
	srv := motoserver.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	ctx := context.Background()
	table := newTable(t, db)
	st := ddbstate.New(db, table, ddbstate.Options{})
	k := detect.Key{Detector: detect.PortScan, Window: 3600, Src: "10.0.12.51", Dst: "10.0.21.100"}
	up := detect.Update{Key: k, Delta: detect.Delta{Bytes: 10, Packets: 2, Count: 2, First: 3700, Last: 3760, Ports: []uint16{22, 80}}, Expires: 7200 + 86400}
	now := time.Unix(4000, 0)
	// The same batch applied again counts once. (Sequentially: DynamoDB
	// serialises conditional writes to an item, moto_server does not, so
	// concurrent replays would test the emulator.)
	for range 4 {
		if _, err := st.Apply(ctx, "tok1", now, []detect.Update{up}); err != nil {
			t.Fatal(err)
		}
	}
	up2 := up
	up2.Delta = detect.Delta{Bytes: 5, Packets: 1, Count: 1, First: 3650, Last: 3650, Ports: []uint16{443, 22}}
	tot, err := st.Apply(ctx, "tok2", now, []detect.Update{up2})
	if err != nil {
		t.Fatal(err)
	}
	got := tot[0]
	if got.Bytes != 15 || got.Count != 3 || got.Packets != 3 || got.First != 3650 || got.Last != 3760 ||
		fmt.Sprint(got.Ports) != "[22 80 443]" || got.Replayed {
		t.Errorf("totals = %+v", got)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: k.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	ttl, ok := out.Item["ttl"].(*types.AttributeValueMemberN)
	if !ok || ttl.Value != fmt.Sprint(7200+86400+3600) {
		t.Errorf("ttl = %v, want window end + retention + 1h", out.Item["ttl"])
	}
	if bs, ok := out.Item["toks"].(*types.AttributeValueMemberL); !ok || len(bs.Value) != 2 {
		t.Errorf("toks = %v, want 2 tokens", out.Item["toks"])
	}
	// Claims: one holder at a time, the holder may re-claim, none after ack.
	claim := func(batch string, at time.Time) bool {
		ok, err := st.Claim(ctx, k, batch, at, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("tok1", now) || claim("tok2", now) || !claim("tok1", now.Add(time.Second)) || !claim("tok2", now.Add(2*time.Minute)) {
		t.Error("claim sequence wrong")
	}
	if err := st.Ack(ctx, []detect.Key{k}, now); err != nil {
		t.Fatal(err)
	}
	if claim("tok2", now.Add(10*time.Minute)) {
		t.Error("claimed after ack")
	}
	if ok, err := st.Claim(ctx, detect.Key{Detector: detect.Reject, Window: 0, Src: "10.0.0.1"}, "tok1", now, time.Minute); ok || err != nil {
		t.Errorf("claim of a missing key = %v, %v", ok, err)
	}
}

// flaky fails chosen UpdateItem calls, as a crash or a network error in
// the middle of a batch would.
type flaky struct {
	ddbstate.API
	mu    sync.Mutex
	calls int
	fail  func(call int, in *dynamodb.UpdateItemInput) bool
}

func (f *flaky) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.mu.Lock()
	f.calls++
	fail := f.fail != nil && f.fail(f.calls, in)
	f.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("injected failure")
	}
	return f.API.UpdateItem(ctx, in, opts...)
}

// TestPartialFailure: a batch whose state writes fail part-way, or whose
// claim fails, is retried and converges on the same alerts, neither lost nor
// counted twice.
func TestPartialFailure(t *testing.T) {
	srv := motoserver.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		fail func(call int, in *dynamodb.UpdateItemInput) bool
	}{
		{"second key's update fails", func(call int, in *dynamodb.UpdateItemInput) bool {
			return call == 2
		}},
		{"claim fails after every update", func(call int, in *dynamodb.UpdateItemInput) bool {
			return call <= 10 && strings.Contains(aws.ToString(in.UpdateExpression), "claimed_by")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &flaky{API: db, fail: tc.fail}
			now := time.Unix(detecttest.Base+600, 0)
			eng, err := detect.New(detect.DefaultConfig(), ddbstate.New(api, newTable(t, db), ddbstate.Options{Concurrency: 1}), func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			recs := []detecttest.Rec{
				{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 700_000, At: 10},
				{Src: "10.0.11.51", Dst: "10.0.21.100", DstPort: 22, Bytes: 60, At: 11, Action: "REJECT"},
				{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 700_000, At: 12},
			}
			var alerts []detect.Alert
			for attempt := 0; attempt < 5; attempt++ {
				alerts, err = processText(t, eng, "batch-1", recs)
				if err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("never converged: %v", err)
			}
			var got []string
			for _, a := range alerts {
				got = append(got, fmt.Sprintf("%s %s %d %d", a.Detector, a.Src, a.Bytes, a.Count))
			}
			want := []string{"exfiltration 10.0.11.50 1400000 2", "reject 10.0.11.51 60 1"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("alerts %v, want %v", got, want)
			}
			if err := eng.Ack(ctx, alerts); err != nil {
				t.Fatal(err)
			}
			// A later replay finds nothing new.
			if again, err := processText(t, eng, "batch-1", recs); err != nil || len(again) != 0 {
				t.Errorf("replay after ack: %v, %v", again, err)
			}
		})
	}
}

func processText(t *testing.T, eng *detect.Engine, id string, recs []detecttest.Rec) ([]detect.Alert, error) {
	t.Helper()
	rd := parse.NewBytesReader(detecttest.Text(detecttest.Format, recs), parse.Options{Format: detecttest.Format})
	defer rd.Release()
	var out []detect.Alert
	for rd.Next() {
		as, err := eng.Process(context.Background(), id, rd.RecordBatch())
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// itemSize is the size DynamoDB bills for an item: attribute names plus
// values (numbers as their digits, lists and sets element by element).
func itemSize(item map[string]types.AttributeValue) int {
	var size func(types.AttributeValue) int
	size = func(v types.AttributeValue) int {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			return len(v.Value)
		case *types.AttributeValueMemberN:
			return len(v.Value)/2 + 1
		case *types.AttributeValueMemberNS:
			n := 0
			for _, x := range v.Value {
				n += len(x)/2 + 1
			}
			return n
		case *types.AttributeValueMemberSS:
			n := 0
			for _, x := range v.Value {
				n += len(x)
			}
			return n
		case *types.AttributeValueMemberL:
			n := 3
			for _, x := range v.Value {
				n += 1 + size(x)
			}
			return n
		}
		return 1
	}
	n := 0
	for k, v := range item {
		n += len(k) + size(v)
	}
	return n
}

// TestItemSizeBounded: a source scanning all 65,536 ports of a host and
// sending to one destination in 400 batches (400 tokens, 2 records a batch
// for each key) leaves items under 10 KB, and replays of recent batches still
// count once.
func TestItemSizeBounded(t *testing.T) {
	srv := motoserver.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	table := newTable(t, db)
	cfg := detect.DefaultConfig()
	cfg.Retention = 0
	now := time.Unix(detecttest.Base+3000, 0)
	eng, err := detect.New(cfg, ddbstate.New(db, table, ddbstate.Options{}), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	const batches = 400
	for b := range batches {
		var recs []detecttest.Rec
		for p := b * 164; p < min((b+1)*164, 1<<16); p++ {
			recs = append(recs, detecttest.Rec{Src: "10.0.12.51", Dst: "10.0.21.100", DstPort: p, Bytes: 44, At: int64(b)})
		}
		recs = append(recs, detecttest.Rec{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 100, At: int64(b)},
			detecttest.Rec{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 100, At: int64(b) + 1})
		alerts, err := processText(t, eng, "batch-"+strconv.Itoa(b), recs)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Ack(t.Context(), alerts); err != nil {
			t.Fatal(err)
		}
	}
	// A replay of a recent batch changes nothing.
	before := eng.Summary().Replayed
	if _, err := processText(t, eng, "batch-"+strconv.Itoa(batches-1), []detecttest.Rec{
		{Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 100, At: batches - 1}, {Src: "10.0.11.50", Dst: "203.0.113.77", Bytes: 100, At: batches}}); err != nil {
		t.Fatal(err)
	}
	if eng.Summary().Replayed == before {
		t.Error("replay of the last batch was counted again")
	}
	out, err := db.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) == 0 {
		t.Fatal("no items")
	}
	for _, it := range out.Items {
		pk := it["pk"].(*types.AttributeValueMemberS).Value
		if n := itemSize(it); n > 10_000 {
			t.Errorf("item %s: %d bytes, over 10 KB", pk, n)
		}
		if strings.HasPrefix(pk, detect.Exfiltration) {
			if c := it["cnt"].(*types.AttributeValueMemberN).Value; c != strconv.Itoa(2*batches) {
				t.Errorf("item %s: count %s, want %d", pk, c, 2*batches)
			}
		}
	}
}
