// Command infra is flowq's CDK app: one seed network (preset menotime or tradai)
// and the flow-log pipeline. See README.md.
package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
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
	wd, err := os.Getwd()
	if err != nil {
		log.Fatalf("infra: %v", err)
	}
	// cdk.json runs the app in infra/; the Lambda lives in the root module.
	out := filepath.Join(wd, ".build", "ingest-lambda")
	if err := stacks.BuildIngestLambda(filepath.Dir(wd), out); err != nil {
		log.Fatalf("infra: %v", err)
	}
	stacks.Build(app, cfg, awslambda.Code_FromAsset(jsii.String(out), nil))
	app.Synth(nil)
}
