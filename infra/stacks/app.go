package stacks

import (
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

// Stacks are the two stacks of one preset.
type Stacks struct {
	Network  *NetworkStack
	Pipeline *PipelineStack
}

// Build adds the preset's network and pipeline stacks to app, with the cdk-nag
// AwsSolutions checks and flowq's written suppressions.
func Build(app awscdk.App, cfg Config, code awslambda.Code) Stacks {
	env := &awscdk.Environment{Region: jsii.String(cfg.Region)}
	if cfg.Account != "" {
		env.Account = jsii.String(cfg.Account)
	}
	tags := map[string]*string{"project": jsii.String("flowq"), "flowq:preset": jsii.String(cfg.Preset.Name)}
	net := NewNetworkStack(app, cfg.StackID("Network"), &NetworkStackProps{
		StackProps: awscdk.StackProps{
			Env: env, Tags: &tags,
			Description: jsii.String("flowq: " + cfg.Preset.Name + " seed network (VPC, NAT, ALB, DNS, flow logs)"),
		},
		Config: cfg,
	})
	pipe := NewPipelineStack(app, cfg.StackID("Pipeline"), &PipelineStackProps{
		StackProps: awscdk.StackProps{
			Env: env, Tags: &tags,
			Description: jsii.String("flowq: flow-log pipeline (ingest Lambda, Parquet lake, alerts, Glue)"),
		},
		Config: cfg, FlowLogGroup: net.FlowLogGroup, LambdaCode: code,
	})
	suppressNetwork(net, cfg)
	suppressPipeline(pipe)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return Stacks{Network: net, Pipeline: pipe}
}
