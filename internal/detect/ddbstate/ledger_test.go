package ddbstate_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/ddbstate"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestLedger: claims follow detect.State's rules on items the ledger
// creates itself (no Apply wrote them), and an acknowledged alert is never
// claimed again, even by the batch that held it.
func TestLedger(t *testing.T) {
	srv := motoserver.Start(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	ctx := context.Background()
	table := newTable(t, db)
	l := ddbstate.NewLedger(db, table, time.Hour)
	k := detect.Key{Detector: detect.Exfiltration, Window: 3600, Src: "10.0.11.50", Dst: "203.0.113.77", Span: 7200}
	now := time.Unix(10_000, 0)
	steps := []struct {
		name  string
		batch string
		at    time.Time
		lease time.Duration
		want  bool
	}{
		{"first claim creates the item", "a", now, time.Minute, true},
		{"another batch within the lease", "b", now.Add(30 * time.Second), time.Minute, false},
		{"the holder again", "a", now.Add(40 * time.Second), time.Minute, true},
		{"another batch after the lease", "b", now.Add(5 * time.Minute), 0, true},
		{"a held-until-ack claim blocks others", "a", now.Add(time.Hour), time.Minute, false},
	}
	for _, s := range steps {
		got, err := l.Claim(ctx, k, s.batch, s.at, s.lease)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: claim = %v, want %v", s.name, got, s.want)
		}
	}
	if err := l.Ack(ctx, []detect.Key{k}, now); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Claim(ctx, k, "b", now.Add(2*time.Hour), time.Minute); ok {
		t.Error("an acknowledged alert was claimed again")
	}
	// Ack of a key never claimed (a crash lost the claim) still marks it.
	k2 := k
	k2.Dst = "203.0.113.78"
	if err := l.Ack(ctx, []detect.Key{k2}, now); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Claim(ctx, k2, "a", now, time.Minute); ok {
		t.Error("an alert acknowledged without a claim was claimed")
	}
	// The item is the State's key, with a TTL.
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: k.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Item["ttl"]; !ok {
		t.Errorf("ledger item without ttl: %v", out.Item)
	}
	if _, ok := out.Item["sent"]; !ok {
		t.Errorf("acknowledged item without sent: %v", out.Item)
	}
}
