package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// Logical IDs of the Athena side.
const (
	GlueDatabaseID       = "GlueDatabase"
	GlueTableID          = "GlueFlowsTable"
	AthenaResultsID      = "AthenaResultsBucket"
	AthenaWorkgroupID    = "AthenaWorkgroup"
	athenaResultsExpiry  = 30 // days
	athenaResultsLogPath = "athena-results/"
)

// LakePartitionKeys are the lake's hive partitions, as store writes them
// (year=YYYY/month=MM/day=DD/hour=HH), with their projection range and digits.
var LakePartitionKeys = []struct{ Name, Range, Digits string }{
	{"year", lakeProjectionYear, "4"}, {"month", "1,12", "2"}, {"day", "1,31", "2"}, {"hour", "0,23", "2"},
}

// AthenaWorkgroupName is the deployment's Athena workgroup: flowq-<preset>[-<env>].
func AthenaWorkgroupName(cfg Config) string {
	if cfg.Env != "" {
		return "flowq-" + cfg.Preset.Name + "-" + cfg.Env
	}
	return "flowq-" + cfg.Preset.Name
}

// newGlueTable catalogs the lake for Athena: a column per field of the deployed
// format with AWS's Parquet types, and integer hourly partitions found by
// projection, so no crawler or MSCK REPAIR is needed. Projection computes each
// partition's location from the template, so objects outside the partitions (the
// lake's own `_flowq/` metadata) are never read.
func newGlueTable(stack awscdk.Stack, cfg Config, lake awss3.Bucket) {
	db := awsglue.NewCfnDatabase(stack, jsii.String(GlueDatabaseID), &awsglue.CfnDatabaseProps{
		CatalogId: stack.Account(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(GlueDatabaseName(cfg)),
			Description: jsii.String("flowq: VPC flow logs lake"),
		},
	})
	columns, err := lakeColumns(cfg.readFormat())
	if err != nil {
		awscdk.Annotations_Of(stack).AddError(jsii.String(err.Error()))
	}
	var cols []*awsglue.CfnTable_ColumnProperty
	for _, c := range columns {
		cols = append(cols, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(c.Name), Type: jsii.String(c.Type)})
	}
	root := "s3://" + *lake.BucketName() + "/" + LakePrefix
	params := map[string]any{
		"classification":            "parquet",
		"projection.enabled":        "true",
		"storage.location.template": root + "/year=${year}/month=${month}/day=${day}/hour=${hour}",
	}
	var parts []*awsglue.CfnTable_ColumnProperty
	for _, k := range LakePartitionKeys {
		parts = append(parts, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(k.Name), Type: jsii.String("int")})
		params["projection."+k.Name+".type"] = "integer"
		params["projection."+k.Name+".range"] = k.Range
		params["projection."+k.Name+".digits"] = k.Digits
	}
	table := awsglue.NewCfnTable(stack, jsii.String(GlueTableID), &awsglue.CfnTableProps{
		CatalogId: stack.Account(), DatabaseName: jsii.String(GlueDatabaseName(cfg)),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:          jsii.String(GlueTableName),
			Description:   jsii.String("VPC flow logs, " + strings.ReplaceAll(cfg.readFormat(), "$", "")),
			TableType:     jsii.String("EXTERNAL_TABLE"),
			Parameters:    params,
			PartitionKeys: &parts,
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:      &cols,
				Location:     jsii.String(root + "/"),
				InputFormat:  jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"),
				OutputFormat: jsii.String("org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
					Parameters:           map[string]any{"serialization.format": "1"},
				},
			},
		},
	})
	table.Node().AddDependency(db)
}

// newAthenaWorkgroup adds the workgroup users query the lake in: results in their
// own encrypted bucket (kept 30 days), the settings enforced on every query, and a
// per-query scan limit so one unbounded query cannot scan the whole lake.
func newAthenaWorkgroup(stack awscdk.Stack, cfg Config, accessLogs awss3.Bucket) {
	results := awss3.NewBucket(stack, jsii.String(AthenaResultsID), &awss3.BucketProps{
		Encryption: awss3.BucketEncryption_S3_MANAGED, EnforceSSL: jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		ServerAccessLogsBucket: accessLogs, ServerAccessLogsPrefix: jsii.String(athenaResultsLogPath),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("expire-query-results"), Expiration: awscdk.Duration_Days(jsii.Number(athenaResultsExpiry)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	pin(results, AthenaResultsID)
	awsathena.NewCfnWorkGroup(stack, jsii.String(AthenaWorkgroupID), &awsathena.CfnWorkGroupProps{
		Name:                  jsii.String(AthenaWorkgroupName(cfg)),
		Description:           jsii.String("flowq: queries over the flow-log lake (" + GlueDatabaseName(cfg) + ")"),
		RecursiveDeleteOption: jsii.Bool(true),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			BytesScannedCutoffPerQuery:      jsii.Number(float64(cfg.Pipeline.ScanLimitGB) * 1e9),
			EngineVersion: &awsathena.CfnWorkGroup_EngineVersionProperty{
				SelectedEngineVersion: jsii.String("Athena engine version 3"),
			},
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation: jsii.String("s3://" + *results.BucketName() + "/"),
				EncryptionConfiguration: &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{
					EncryptionOption: jsii.String("SSE_S3"),
				},
			},
		},
	})
	awscdk.NewCfnOutput(stack, jsii.String("AthenaWorkgroupName"), &awscdk.CfnOutputProps{Value: jsii.String(AthenaWorkgroupName(cfg))})
}
