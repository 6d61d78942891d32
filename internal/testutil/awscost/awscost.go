// Package awscost counts the AWS requests a test's SDK clients send and
// prices them at list prices, for the cost tests of the Lambdas (one price
// table for all of them).
package awscost

import (
	"context"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// List prices, us-east-1, on-demand (December 2024 onwards).
const (
	LambdaRequest = 0.20 / 1e6    // per invocation
	LambdaGBs     = 0.0000133334  // per GB-second, arm64
	S3Put         = 0.005 / 1000  // PUT, COPY, POST, LIST
	S3Get         = 0.0004 / 1000 // GET and the rest
	DynamoWrite   = 0.625 / 1e6   // per write request unit (1 KB)
	DynamoRead    = 0.125 / 1e6   // per read request unit (4 KB, strongly consistent)
	SNSPublish    = 0.50 / 1e6    // per 64 KB chunk published
)

// Counter counts every request attempt the SDK clients it is installed in
// send, by "Service Operation" (retries included: they are billed too).
type Counter struct {
	mu sync.Mutex
	N  map[string]int
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{N: map[string]int{}} }

// Middleware installs the counter: append it to aws.Config.APIOptions.
func (c *Counter) Middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("flowq-count",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.N[awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// Price returns the list price of one request of op ("S3 GetObject"). EC2
// Describe* and SSM reads (standard parameters, standard throughput) cost
// nothing, nor does anything not listed above; DynamoDB writes are priced
// as one write unit (items under 1 KB).
func Price(op string) float64 {
	switch {
	case strings.HasPrefix(op, "S3 Get"), strings.HasPrefix(op, "S3 Head"):
		return S3Get
	case strings.HasPrefix(op, "S3 "):
		return S3Put
	case op == "DynamoDB GetItem":
		return DynamoRead
	case strings.HasPrefix(op, "DynamoDB "):
		return DynamoWrite
	case strings.HasPrefix(op, "SNS "):
		return SNSPublish
	}
	return 0
}
