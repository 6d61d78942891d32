// Package ddbstate keeps detect's window state in DynamoDB, so detection
// stays exactly once across Lambda invocations, retries and replays.
//
// The table (created by infra) has a String partition key "pk" and nothing
// else, TTL on the attribute "ttl" (epoch seconds), on-demand capacity. One
// item per detector key and window:
//
//	pk        "detector#window-start#src#dst[#span]"
//	det, win, src, dst   the key's parts
//	bytes, head, packets, cnt  counters (atomic ADD)
//	first, last  earliest start and latest end seen
//	ports     number set of destination ports (port scan only), at most
//	          Options.MaxPorts plus one batch's
//	toks      list of the last batch tokens applied (idempotence), at most
//	          Options.MaxTokens after trimming
//	claimed_by, claimed_until, sent   the alert claim and its acknowledgement
//	ttl       window end + Config.Retention + 1h
//
// Apply is one UpdateItem per key: ADD of the counters, the batch token
// appended to toks, conditional on the token not being in toks. The
// condition and the ADD are one atomic write, so a key is counted once per
// batch whatever fails around it; when the condition fails, the item as it
// was (ReturnValuesOnConditionCheckFailure ALL_OLD) gives the totals. A few
// rare extra writes keep the item bounded: trimming toks back to MaxTokens
// once it holds half as many more, lowering first or raising last for a
// record that arrived out of order, and leaving out the ports of a key that
// already holds MaxPorts. Claim and Ack are conditional UpdateItems.
// Throttling and 5xx errors are retried by the SDK's standard retryer.
//
// Size: an item holds fixed counters, at most 1.5 × MaxTokens tokens of 16
// characters and at most 2 × MaxPorts ports: under 10 KB with the defaults
// (32 tokens, 512 ports), whatever the traffic; most items, without ports,
// stay under 1 KB: one write unit. Exactly once: a batch retried after
// failing part-way finds its token in every key it had reached, unless
// MaxTokens later batches touched that key in between (a retry comes within
// minutes; a key sees a batch every minute or so per log stream).
// (moto_server does not serialise concurrent conditional writes to an item
// as DynamoDB does; the tests replay sequentially.)
package ddbstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/flowq/flowq/internal/detect"
)

// API is the part of the DynamoDB client the state uses.
type API interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Options tune a State.
type Options struct {
	// Concurrency is the number of UpdateItem calls in flight during an
	// Apply (default 16).
	Concurrency int
	// TTLMargin is added to an update's expiry for the item's TTL
	// (default 1h), so state outlives the late-record cutoff.
	TTLMargin time.Duration
	// MaxTokens is the number of recent batch tokens an item keeps for
	// idempotence (default 32).
	MaxTokens int
	// MaxPorts caps the ports a port-scan item collects (default 512,
	// detectconfig.MaxScanPorts): past it, a key is due whatever its
	// threshold.
	MaxPorts int
}

// State is a detect.State in a DynamoDB table.
type State struct {
	db    API
	table string
	opts  Options
}

var _ detect.State = (*State)(nil)

// New returns a State in the given table.
func New(db API, table string, opts Options) *State {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.TTLMargin == 0 {
		opts.TTLMargin = time.Hour
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = 32
	}
	if opts.MaxPorts <= 0 {
		opts.MaxPorts = 512
	}
	return &State{db: db, table: table, opts: opts}
}

// Attribute names. All go through ExpressionAttributeNames: several are
// DynamoDB reserved words (ttl, bytes, ...).
const (
	aPK      = "pk"
	aDet     = "det"
	aWin     = "win"
	aSrc     = "src"
	aDst     = "dst"
	aBytes   = "bytes"
	aHead    = "head"
	aPackets = "packets"
	aCount   = "cnt"
	aFirst   = "first"
	aLast    = "last"
	aPorts   = "ports"
	aToks    = "toks"
	aBy      = "claimed_by"
	aUntil   = "claimed_until"
	aSent    = "sent"
	aTTL     = "ttl"
)

func names(ns ...string) map[string]string {
	m := make(map[string]string, len(ns))
	for _, n := range ns {
		m["#"+n] = n
	}
	return m
}

func key(k detect.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{aPK: &types.AttributeValueMemberS{Value: k.String()}}
}

func num(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// Apply implements detect.State.
func (s *State) Apply(ctx context.Context, batch string, now time.Time, ups []detect.Update) ([]detect.Totals, error) {
	out := make([]detect.Totals, len(ups))
	errs := make([]error, len(ups))
	sem := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range ups {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = s.apply(ctx, batch, &ups[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *State) apply(ctx context.Context, batch string, u *detect.Update) (detect.Totals, error) {
	d := &u.Delta
	vals := map[string]types.AttributeValue{
		":b":     num(d.Bytes),
		":p":     num(d.Packets),
		":c":     num(d.Count),
		":f":     num(d.First),
		":l":     num(d.Last),
		":tl":    &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: batch}}},
		":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		":bid":   &types.AttributeValueMemberS{Value: batch},
		":det":   &types.AttributeValueMemberS{Value: u.Key.Detector},
		":win":   num(u.Key.Window),
		":src":   &types.AttributeValueMemberS{Value: u.Key.Src},
		":dst":   &types.AttributeValueMemberS{Value: u.Key.Dst},
	}
	add := "ADD #bytes :b, #packets :p, #cnt :c"
	set := "SET #toks = list_append(if_not_exists(#toks, :empty), :tl), #first = if_not_exists(#first, :f), " +
		"#last = if_not_exists(#last, :l), #det = :det, #win = :win, #src = :src, #dst = :dst"
	cond := "NOT contains(#toks, :bid)"
	ns := names(aBytes, aPackets, aCount, aToks, aFirst, aLast, aDet, aWin, aSrc, aDst)
	if d.Head != 0 {
		vals[":h"] = num(d.Head)
		add += ", #head :h"
		ns["#"+aHead] = aHead
	}
	if len(d.Ports) > 0 {
		ps := make([]string, len(d.Ports))
		for i, p := range d.Ports {
			ps[i] = strconv.Itoa(int(p))
		}
		vals[":ports"] = &types.AttributeValueMemberNS{Value: ps}
		vals[":pcap"] = num(int64(s.opts.MaxPorts))
		add += ", #ports :ports"
		cond += " AND (attribute_not_exists(#ports) OR size(#ports) < :pcap)"
		ns["#"+aPorts] = aPorts
	}
	if u.Expires > 0 {
		vals[":ttl"] = num(u.Expires + int64(s.opts.TTLMargin/time.Second))
		set += ", #ttl = :ttl"
		ns["#"+aTTL] = aTTL
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 key(u.Key),
		UpdateExpression:                    aws.String(set + " " + add),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            ns,
		ExpressionAttributeValues:           vals,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		t, err := totals(res.Attributes)
		if err != nil {
			return t, err
		}
		return t, s.tidy(ctx, u, res.Attributes, &t)
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return detect.Totals{}, fmt.Errorf("update %s: %w", u.Key, err)
	}
	item := ccf.Item
	if len(item) == 0 { // emulators may not return the item
		got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(u.Key), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return detect.Totals{}, fmt.Errorf("read %s: %w", u.Key, err)
		}
		item = got.Item
	}
	if !hasToken(item, batch) && len(d.Ports) > 0 {
		// Not a replay: the item holds MaxPorts ports already. Count the
		// batch without its ports.
		v := *u
		v.Delta.Ports = nil
		return s.apply(ctx, batch, &v)
	}
	t, err := totals(item)
	t.Replayed = true
	return t, err
}

func hasToken(item map[string]types.AttributeValue, batch string) bool {
	l, _ := item[aToks].(*types.AttributeValueMemberL)
	if l == nil {
		return false
	}
	for _, v := range l.Value {
		if s, ok := v.(*types.AttributeValueMemberS); ok && s.Value == batch {
			return true
		}
	}
	return false
}

// tidy keeps an item exact and bounded after an update: first and last
// moved for records that came out of order, and toks trimmed to MaxTokens
// once it holds half as many more. Each is a conditional write that a
// concurrent batch may make unnecessary.
func (s *State) tidy(ctx context.Context, u *detect.Update, item map[string]types.AttributeValue, t *detect.Totals) error {
	var ccf *types.ConditionalCheckFailedException
	for _, m := range []struct {
		name, cmp string
		v         int64
		ok        bool
	}{{aFirst, ">", u.Delta.First, u.Delta.First < t.First}, {aLast, "<", u.Delta.Last, u.Delta.Last > t.Last}} {
		if !m.ok {
			continue
		}
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(u.Key),
			UpdateExpression:          aws.String("SET #a = :v"),
			ConditionExpression:       aws.String("#a " + m.cmp + " :v"),
			ExpressionAttributeNames:  map[string]string{"#a": m.name},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(m.v)},
		})
		if err != nil && !errors.As(err, &ccf) {
			return fmt.Errorf("update %s %s: %w", u.Key, m.name, err)
		}
		if m.name == aFirst {
			t.First = m.v
		} else {
			t.Last = m.v
		}
	}
	l, _ := item[aToks].(*types.AttributeValueMemberL)
	if l == nil || len(l.Value) <= s.opts.MaxTokens*3/2 {
		return nil
	}
	drop := len(l.Value) - s.opts.MaxTokens
	paths := make([]string, drop)
	for i := range paths {
		paths[i] = "#toks[" + strconv.Itoa(i) + "]"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(u.Key),
		UpdateExpression:          aws.String("REMOVE " + strings.Join(paths, ", ")),
		ConditionExpression:       aws.String("size(#toks) = :n"),
		ExpressionAttributeNames:  names(aToks),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(len(l.Value)))},
	})
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("trim %s: %w", u.Key, err)
	}
	return nil
}

// totals reads an item's state.
func totals(item map[string]types.AttributeValue) (detect.Totals, error) {
	var t detect.Totals
	var err error
	geti := func(name string) int64 {
		n, ok := item[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0
		}
		v, e := strconv.ParseInt(n.Value, 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("attribute %s: %w", name, e)
		}
		return v
	}
	t.Bytes, t.Packets, t.Count, t.Head = geti(aBytes), geti(aPackets), geti(aCount), geti(aHead)
	t.First, t.Last = geti(aFirst), geti(aLast)
	t.ClaimedUntil = geti(aUntil)
	if ns, ok := item[aPorts].(*types.AttributeValueMemberNS); ok {
		for _, s := range ns.Value {
			v, e := strconv.ParseUint(s, 10, 16)
			if e != nil {
				return t, fmt.Errorf("attribute %s: %w", aPorts, e)
			}
			t.Ports = append(t.Ports, uint16(v))
		}
		slices.Sort(t.Ports)
	}
	if by, ok := item[aBy].(*types.AttributeValueMemberS); ok {
		t.ClaimedBy = by.Value
	}
	_, t.Sent = item[aSent]
	return t, err
}

// Claim implements detect.State: the item must exist (the key's counters).
func (s *State) Claim(ctx context.Context, k detect.Key, batch string, now time.Time, lease time.Duration) (bool, error) {
	return claim(ctx, s.db, s.table, k, batch, now, lease, 0)
}

// claim is the conditional write of State.Claim and Ledger.Claim: it
// reserves the alert of k for batch until now+lease unless it was sent or
// another batch holds an unexpired claim. With ttl 0 the item must exist
// already (State: its counters); otherwise it is created when absent and
// its ttl set (Ledger: claims are its only writes).
func claim(ctx context.Context, db Updater, table string, k detect.Key, batch string, now time.Time, lease time.Duration, ttl int64) (bool, error) {
	set := "SET #claimed_by = :bid, #claimed_until = :until"
	cond := "attribute_not_exists(#sent) AND " +
		"(attribute_not_exists(#claimed_by) OR #claimed_by = :bid OR (#claimed_until <> :zero AND #claimed_until < :now))"
	vals := map[string]types.AttributeValue{
		":bid":   &types.AttributeValueMemberS{Value: batch},
		":until": num(detect.LeaseUntil(now, lease)),
		":now":   num(now.Unix()),
		":zero":  num(0),
	}
	ns := names(aSent, aBy, aUntil)
	if ttl > 0 {
		set += ", #ttl = :ttl"
		vals[":ttl"] = num(ttl)
		ns["#"+aTTL] = aTTL
	} else {
		cond = "attribute_exists(#pk) AND " + cond
		ns["#"+aPK] = aPK
	}
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       key(k),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  ns,
		ExpressionAttributeValues: vals,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	}
	return false, fmt.Errorf("claim %s: %w", k, err)
}

// Ack implements detect.State.
func (s *State) Ack(ctx context.Context, keys []detect.Key, now time.Time) error {
	var errs []error
	for _, k := range keys {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       key(k),
			UpdateExpression:          aws.String("SET #sent = :now"),
			ConditionExpression:       aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames:  names(aPK, aSent),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			errs = append(errs, fmt.Errorf("ack %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// CreateTable creates a table shaped as infra creates it (pk String, TTL on
// ttl, on-demand) and waits until it is active. For tests and local demos.
func CreateTable(ctx context.Context, db *dynamodb.Client, table string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(aPK), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(aPK), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	// An existing table is fine: it may be our own request's, retried by the
	// SDK after a lost response.
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(aTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", table, err)
	}
	return nil
}
