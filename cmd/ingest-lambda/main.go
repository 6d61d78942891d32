// Command ingest-lambda is the AWS Lambda subscribed to the flow-log group.
// Placeholder so that infra can bundle it; replaced whole by its issue.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context) error { return nil })
}
