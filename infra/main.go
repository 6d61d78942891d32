// Command infra is flowq's CDK app: one reference network (preset menotime or
// tradai) and the flow-log pipeline, or the pipeline alone for an existing VPC. See
// README.md.
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/flowq/flowq/infra/stacks"
)

func main() {
	defer jsii.Close()
	ctx := stacks.AppContext()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	cfg, err := stacks.ConfigFromContext(func(key string) (string, bool) {
		v := app.Node().TryGetContext(jsii.String(key))
		if v == nil {
			return "", false
		}
		return fmt.Sprint(v), true
	})
	if err != nil {
		log.Fatalf("infra: %v", err)
	}
	// How the flow logs reach the Lambda decides latency and cost: say which it is.
	fmt.Fprintf(os.Stderr, "flowq: %s\n", cfg.DeliverySummary())
	if cfg.LooksUpZone() && cfg.Account == "" {
		// The CDK CLI sets this from its credentials.
		cfg.LookupAccount = os.Getenv("CDK_DEFAULT_ACCOUNT")
		if cfg.LookupAccount == "" {
			log.Fatalf("infra: domain: looking up the public hosted zone of %s needs the account: pass -c account=<12 digits> "+
				"(or run through the CDK CLI with AWS credentials)", cfg.Domain)
		}
	}
	if cfg.VPCID != "" {
		if err := checkVPC(context.Background(), slog.New(slog.NewTextHandler(os.Stderr, nil)), cfg.VPCID, cfg.Region); err != nil {
			log.Fatalf("infra: %v", err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		log.Fatalf("infra: %v", err)
	}
	// cdk.json runs the app in infra/; the Lambdas live in the root module.
	code, err := stacks.BuildBundles(filepath.Dir(wd), filepath.Join(wd, ".build"))
	if err != nil {
		log.Fatalf("infra: %v", err)
	}
	stacks.Build(app, cfg, code)
	app.Synth(nil)
}
