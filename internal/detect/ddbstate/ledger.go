package ddbstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/flowq/flowq/internal/detect"
)

// Updater is the part of the DynamoDB client the Ledger uses.
type Updater interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DefaultLedgerKeep is how long a ledger item outlives its last write.
const DefaultLedgerKeep = 72 * time.Hour

// Ledger keeps only the alert claims and acknowledgements of detect.State
// in the table, for a detector whose window counters live elsewhere (the
// scheduled collector keeps them in its checkpoint). Only due alerts touch
// DynamoDB: one conditional UpdateItem to claim, one to acknowledge.
//
// Its items share the State's partition key (detect.Key.String), so the
// CloudWatch Logs path and the collector never both alert on one key.
type Ledger struct {
	db    Updater
	table string
	keep  time.Duration
}

// NewLedger returns a Ledger in table; its items expire keep after their
// last write (0: DefaultLedgerKeep).
func NewLedger(db Updater, table string, keep time.Duration) *Ledger {
	if keep <= 0 {
		keep = DefaultLedgerKeep
	}
	return &Ledger{db: db, table: table, keep: keep}
}

// Claim reserves the alert of k for batch until now+lease, with
// detect.State's semantics, creating the item when absent: it fails
// (false, nil) when the alert was already acknowledged, or is claimed by
// another batch whose lease has not run out; the batch holding the claim
// may claim again.
func (l *Ledger) Claim(ctx context.Context, k detect.Key, batch string, now time.Time, lease time.Duration) (bool, error) {
	return claim(ctx, l.db, l.table, k, batch, now, lease, now.Add(l.keep).Unix())
}

// Ack marks the alerts of keys as sent: never claimed again.
func (l *Ledger) Ack(ctx context.Context, keys []detect.Key, now time.Time) error {
	var errs []error
	for _, k := range keys {
		_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(l.table),
			Key:                       key(k),
			UpdateExpression:          aws.String("SET #sent = :now, #ttl = :ttl"),
			ExpressionAttributeNames:  names(aSent, aTTL),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix()), ":ttl": num(now.Add(l.keep).Unix())},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("ack %s: %w", k, err))
		}
	}
	return errors.Join(errs...)
}
