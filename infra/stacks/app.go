package stacks

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// AppContext is the context every flowq app starts with (main and tests alike):
// feature flags that change what is synthesized.
func AppContext() map[string]any {
	return map[string]any{
		// Server access logs are delivered under a bucket policy, not the legacy ACL.
		"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
		// The pipeline imports the network's flow-log group: keep the export
		// protected while the pipeline uses it.
		"@aws-cdk/core:defaultCrossStackReferences": "strong",
	}
}

// Bundles are the app's Lambda bundles (directories holding `bootstrap`); see
// BuildBundles.
type Bundles struct {
	Ingest    awslambda.Code // cmd/ingest-lambda
	NATHook   awslambda.Code // cmd/nat-hook: the NAT instance's lifecycle hook
	Inventory awslambda.Code // cmd/inventory-lambda: the scheduled inventory sync
}

// Stacks are the stacks of one deployment; Network is nil when the app deploys the
// pipeline only (-c vpcId, -c flowLogGroup).
type Stacks struct {
	Network  *NetworkStack
	Pipeline *PipelineStack
}

// Build adds the deployment's stacks to app, with the cdk-nag AwsSolutions checks
// and flowq's written suppressions: the preset's network and the pipeline that
// reads its flow log, or, for a VPC the user already has, the pipeline alone, which
// turns on that VPC's flow log (-c vpcId) or subscribes to the user's flow-log group
// (-c flowLogGroup).
func Build(app awscdk.App, cfg Config, code Bundles) Stacks {
	env := &awscdk.Environment{Region: jsii.String(cfg.Region)}
	switch {
	case cfg.Account != "":
		env.Account = jsii.String(cfg.Account)
	case cfg.LooksUpZone():
		env.Account = jsii.String(cfg.LookupAccount) // context lookups need the account
	}
	tags := map[string]*string{"project": jsii.String("flowq"), "flowq:preset": jsii.String(cfg.Preset.Name)}
	if cfg.Env != "" {
		tags["flowq:env"] = jsii.String(cfg.Env)
	}
	pipeProps := &PipelineStackProps{
		StackProps: awscdk.StackProps{
			Env: env, Tags: &tags,
			Description: jsii.String("flowq: flow-log pipeline (ingest Lambda, Parquet lake, alerts, Glue); " + cfg.DeliverySummary()),
		},
		Config: cfg, LambdaCode: code.Ingest, InventoryCode: code.Inventory,
	}
	var net *NetworkStack
	switch {
	case cfg.DeploysNetwork():
		net = NewNetworkStack(app, cfg.StackID("Network"), &NetworkStackProps{
			StackProps: awscdk.StackProps{
				Env: env, Tags: &tags,
				Description: jsii.String("flowq: " + cfg.Preset.Name + " reference network (VPC, NAT, ALB, DNS, flow logs)"),
			},
			Config: cfg, NATHookCode: code.NATHook,
		})
		pipeProps.VPCID = net.VPC.Ref()
		if net.FlowLogGroup != nil {
			pipeProps.FlowLogGroup = net.FlowLogGroup
		}
	case cfg.VPCID != "":
		pipeProps.VPCID = jsii.String(cfg.VPCID)
	}
	pipe := NewPipelineStack(app, cfg.StackID("Pipeline"), pipeProps)
	if net != nil {
		NATNotifications(pipe, net)
		suppressNetwork(net, cfg)
	}
	suppressPipeline(pipe)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return Stacks{Network: net, Pipeline: pipe}
}

// BuildBundles builds the app's Lambdas from the root module at repoRoot into
// buildDir/<name>/bootstrap.
func BuildBundles(repoRoot, buildDir string) (Bundles, error) {
	ingest, hook := filepath.Join(buildDir, "ingest-lambda"), filepath.Join(buildDir, "nat-hook")
	if err := BuildLambda(repoRoot, IngestLambdaPackage, ingest); err != nil {
		return Bundles{}, err
	}
	if err := BuildLambda(repoRoot, NATHookPackage, hook); err != nil {
		return Bundles{}, err
	}
	inventory := filepath.Join(buildDir, "inventory-lambda")
	if err := BuildLambda(repoRoot, InventoryLambdaPackage, inventory); err != nil {
		return Bundles{}, err
	}
	return Bundles{
		Ingest:    awslambda.Code_FromAsset(jsii.String(ingest), nil),
		NATHook:   awslambda.Code_FromAsset(jsii.String(hook), nil),
		Inventory: awslambda.Code_FromAsset(jsii.String(inventory), nil),
	}, nil
}
