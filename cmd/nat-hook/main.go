// Command nat-hook is the Lambda behind the NAT Auto Scaling group's launch
// lifecycle hook (the tradai preset): it points the private route tables'
// default routes at the instance being launched. It is wiring; the logic is in
// internal/natroute.
//
// Built with cgo off for linux/arm64 provided.al2023, like the ingest Lambda.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/flowq/flowq/internal/natroute"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := newHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("nat-hook cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler reads the configuration and builds the EC2 client once (init).
func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, natroute.Event) (natroute.Result, error), error) {
	cfg, err := natroute.ConfigFromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	u, err := natroute.New(cfg, ec2.NewFromConfig(awsCfg), log)
	if err != nil {
		return nil, err
	}
	return u.Handle, nil
}
