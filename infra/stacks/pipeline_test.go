package stacks

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

// TestPinnedLogicalIDs: stateful resources keep their logical IDs, so no refactor
// can replace (and empty) them.
func TestPinnedLogicalIDs(t *testing.T) {
	for _, preset := range []string{"tradai", "menotime"} {
		s := synth(t, preset, nil)
		for _, tc := range []struct {
			tmpl assertions.Template
			id   string
			typ  string
		}{
			{synth(t, preset, cwContext).network, FlowLogGroupID, "AWS::Logs::LogGroup"},
			{s.pipeline, FlowLogBucketID, "AWS::S3::Bucket"},
			{s.network, AccessLogBucketID, "AWS::S3::Bucket"},
			{s.pipeline, LakeBucketID, "AWS::S3::Bucket"},
			{s.pipeline, LakeAccessLogsID, "AWS::S3::Bucket"},
			{s.pipeline, StateTableID, "AWS::DynamoDB::Table"},
			{s.pipeline, AlertTopicID, "AWS::SNS::Topic"},
			{s.pipeline, AlertKeyID, "AWS::KMS::Key"},
			{s.pipeline, DeadLetterQueueID, "AWS::SQS::Queue"},
			{s.pipeline, IngestFunctionID, "AWS::Lambda::Function"},
			{s.pipeline, LogKeyID, "AWS::KMS::Key"},
			{s.pipeline, AthenaResultsID, "AWS::S3::Bucket"},
		} {
			t.Run(preset+"/"+tc.id, func(t *testing.T) {
				if _, ok := resources(t, tc.tmpl, tc.typ)[tc.id]; !ok {
					t.Errorf("no %s with logical ID %s", tc.typ, tc.id)
				}
			})
		}
	}
}

func TestLake(t *testing.T) {
	tmpl := synth(t, "tradai", nil).pipeline
	b := resources(t, tmpl, "AWS::S3::Bucket")[LakeBucketID]
	diff(t, "lake encryption", b["BucketEncryption"], map[string]any{"ServerSideEncryptionConfiguration": []any{
		map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}})
	diff(t, "public access block", b["PublicAccessBlockConfiguration"], map[string]any{
		"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true})
	rules := b["LifecycleConfiguration"].(map[string]any)["Rules"].([]any)
	r := rules[0].(map[string]any)
	diff(t, "lifecycle", []any{r["Prefix"], r["Status"], r["ExpirationInDays"], r["AbortIncompleteMultipartUpload"]},
		[]any{"flows/", "Enabled", 400.0, map[string]any{"DaysAfterInitiation": 1.0}})
	if ref(b["LoggingConfiguration"].(map[string]any)["DestinationBucketName"]) != LakeAccessLogsID {
		t.Errorf("lake access logs: %v", b["LoggingConfiguration"])
	}
	check(t, func() {
		tmpl.HasResourceProperties(jstr("AWS::S3::BucketPolicy"), map[string]any{
			"Bucket": map[string]any{"Ref": LakeBucketID},
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Action": "s3:*",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			})}),
		})
	})
}

func TestTopicAndTable(t *testing.T) {
	tmpl := synth(t, "tradai", nil).pipeline
	topic := resources(t, tmpl, "AWS::SNS::Topic")[AlertTopicID]
	if ref(topic["KmsMasterKeyId"]) != AlertKeyID {
		t.Errorf("topic key %v", topic["KmsMasterKeyId"])
	}
	check(t, func() {
		tmpl.HasResourceProperties(jstr("AWS::KMS::Key"), map[string]any{"EnableKeyRotation": true})
	})
	check(t, func() {
		tmpl.ResourceCountIs(jstr("AWS::SNS::Subscription"), jnum(0))
	})
	withMail := synth(t, "menotime", map[string]string{"domain": "menotime.example", "bastionCidr": "198.51.100.7/32", "alertEmail": "ops@example.com"}).pipeline
	check(t, func() {
		withMail.HasResourceProperties(jstr("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": map[string]any{"Ref": AlertTopicID},
		})
	})

	check(t, func() {
		tmpl.HasResource(jstr("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": map[string]any{
				"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
				"AttributeDefinitions":             []any{map[string]any{"AttributeName": "pk", "AttributeType": "S"}},
				"BillingMode":                      "PAY_PER_REQUEST",
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"SSESpecification":                 map[string]any{"SSEEnabled": true},
			},
		})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jstr("AWS::SQS::Queue"), map[string]any{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 14 * 86400})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jstr("AWS::SQS::QueuePolicy"), map[string]any{
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			})}),
		})
	})
}

func TestIngestFunction(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
	}{{"tradai", nil}, {"menotime", nil}, {"tradai", cwContext}, {"menotime", cwContext}} {
		preset, collects := tc.preset, tc.ctx == nil
		t.Run(fmt.Sprint(preset, tc.ctx), func(t *testing.T) {
			s := synth(t, preset, tc.ctx)
			tmpl := s.pipeline
			in := testIntrinsics()
			region := Presets[preset].Region
			fn := resources(t, tmpl, "AWS::Lambda::Function")[IngestFunctionID]
			diff(t, "runtime", []any{fn["Runtime"], fn["Architectures"], fn["Handler"]}, []any{"provided.al2023", []any{"arm64"}, "bootstrap"})
			env := map[string]string{}
			for k, v := range fn["Environment"].(map[string]any)["Variables"].(map[string]any) {
				if k == EnvDelivery {
					env[k] = in.Resolve(v)
					continue
				}
				switch v := v.(type) {
				case map[string]any:
					if j, ok := v["Fn::Join"]; ok {
						var b strings.Builder
						for _, part := range j.([]any)[1].([]any) {
							b.WriteString(ref(part))
						}
						env[k] = b.String()
						continue
					}
				}
				env[k] = ref(v)
			}
			wantEnv := map[string]string{
				"FLOWQ_LAKE": "s3://" + LakeBucketID + "/flows", "FLOWQ_LOG_FORMAT": FlowLogFormat,
				"FLOWQ_ALERT_TOPIC_ARN": AlertTopicID, "FLOWQ_STATE_TABLE": StateTableID,
				"FLOWQ_WATCH_CIDRS": "10.0.0.0/16", "FLOWQ_EXFIL_BYTES": "1000000", "FLOWQ_WINDOW": "1h",
				"FLOWQ_INVENTORY_MINUTES": "15",
			}
			if collects {
				wantEnv["FLOWQ_INVENTORY_MINUTES"] = "60" // as often as the collector runs
				// The flow log's region directory in the bucket named after the stack.
				wantEnv[EnvDelivery] = "s3://flowq-flowlogs-0a1b2c3d-aaaa-bbbb-cccc-0123456789ab/AWSLogs/" + testAccount + "/vpcflowlogs/" + region + "/"
				wantEnv[EnvCollectMinutes], wantEnv[EnvSettleMinutes] = "60", "15"
			}
			diff(t, "environment", env, wantEnv)
			// The code is a local asset: a directory holding bootstrap.
			if code := fn["Code"].(map[string]any); code["S3Bucket"] == nil || code["S3Key"] == nil {
				t.Errorf("code is not an S3 asset: %v", code)
			}

			// Least privilege: exactly these actions on exactly these resources.
			pol := resources(t, tmpl, "AWS::IAM::Policy")[IngestPolicyID]
			var got []string
			for _, st := range asList(pol["PolicyDocument"].(map[string]any)["Statement"]) {
				got = append(got, fmt.Sprintf("%v %v on %s", st["Sid"], st["Action"], flat(st["Resource"])))
			}
			want := []string{
				"Logs [logs:CreateLogStream logs:PutLogEvents] on " + IngestLogGroupID,
				"LakeObjects [s3:GetObject s3:PutObject s3:DeleteObject] on " + LakeBucketID + "/flows/*",
				"LakeList s3:ListBucket on " + LakeBucketID,
				"Alerts sns:Publish on " + AlertTopicID,
				"AlertKey [kms:GenerateDataKey kms:Decrypt] on " + AlertKeyID,
				"State [dynamodb:GetItem dynamodb:UpdateItem] on " + StateTableID,
				"OnFailure sqs:SendMessage on " + DeadLetterQueueID,
				"Interfaces ec2:DescribeNetworkInterfaces on *",
			}
			if collects {
				// The delivered objects of this region, and listing them (collector.go).
				flowLogs := `arn:AWS::Partition:s3:::map[Fn::Join:[- [flowq-flowlogs map[Fn::Select:[2 map[Fn::Split:[/ map[Ref:AWS::StackId]]]]]]]]`
				want = append(want, "FlowLogObjects s3:GetObject on "+flowLogs+"/AWSLogs/AWS::AccountId/vpcflowlogs/"+region+"/*",
					"FlowLogList s3:ListBucket on "+flowLogs)
			}
			diff(t, "ingest policy", sorted(got), sorted(want))
			check(t, func() {
				tmpl.ResourceCountIs(jstr("AWS::IAM::Policy"), jnum(1))
			})
			role := resources(t, tmpl, "AWS::IAM::Role")
			for id, r := range role {
				if r["ManagedPolicyArns"] != nil {
					t.Errorf("%s has managed policies %v", id, r["ManagedPolicyArns"])
				}
			}

			eic := resources(t, tmpl, "AWS::Lambda::EventInvokeConfig")["IngestInvokeConfig"]
			diff(t, "on-failure destination", ref(eic["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)["Destination"]), DeadLetterQueueID)

			if collects {
				return // the schedule: TestCollector
			}
			perm := resources(t, tmpl, "AWS::Lambda::Permission")["IngestFromFlowLogs"]
			diff(t, "permission", []any{perm["Principal"], perm["Action"], ref(perm["FunctionName"]), ref(perm["SourceArn"])},
				[]any{"logs.amazonaws.com", "lambda:InvokeFunction", IngestFunctionID, "import:" + exportOf(t, s.network, FlowLogGroupID, "Arn")})
			sub := resources(t, tmpl, "AWS::Logs::SubscriptionFilter")["FlowLogSubscription"]
			diff(t, "subscription", []any{ref(sub["LogGroupName"]), sub["FilterPattern"], ref(sub["DestinationArn"])},
				[]any{"import:" + exportOf(t, s.network, FlowLogGroupID, ""), "", IngestFunctionID})
		})
	}
}

// flat renders a policy Resource (string, intrinsic or list) with logical IDs.
func flat(v any) string {
	if l, ok := v.([]any); ok {
		var out []string
		for _, e := range l {
			out = append(out, flat(e))
		}
		return strings.Join(out, ",")
	}
	if m, ok := v.(map[string]any); ok {
		if j, ok := m["Fn::Join"]; ok {
			var b strings.Builder
			for _, part := range j.([]any)[1].([]any) {
				b.WriteString(ref(part))
			}
			return b.String()
		}
	}
	return ref(v)
}

// exportOf names the network stack's export of a resource's Ref (attr "") or
// attribute.
func exportOf(t *testing.T, network assertions.Template, logicalID, attr string) string {
	t.Helper()
	outs, _ := templateJSON(network)["Outputs"].(map[string]any)
	for _, o := range outs {
		o := o.(map[string]any)
		exp, ok := o["Export"].(map[string]any)
		if !ok {
			continue
		}
		v, _ := o["Value"].(map[string]any)
		if r, ok := v["Ref"]; ok && attr == "" && r == logicalID {
			return ref(exp["Name"])
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok && g[0] == logicalID && g[1] == attr {
			return ref(exp["Name"])
		}
	}
	t.Errorf("network stack exports no %s %s", logicalID, attr)
	return ""
}

func TestAlarms(t *testing.T) {
	for _, tc := range []struct {
		ctx        map[string]string
		copy       string // the copy's own metrics namespace
		noRecordsS string
	}{
		{nil, "flowq/FlowqTradaiPipeline", "5400"},
		{cwContext, "flowq/FlowqTradaiPipeline", "1800"},
		{s3Context, "flowq/FlowqTradaiStagingPipeline", "5400"},
	} {
		collects := tc.ctx == nil
		t.Run(fmt.Sprint(tc.copy, tc.ctx), func(t *testing.T) {
			tmpl := synth(t, "tradai", tc.ctx).pipeline
			var got []string
			for _, p := range resources(t, tmpl, "AWS::CloudWatch::Alarm") {
				dims := append(asList(p["Dimensions"]), map[string]any{"Value": "-"})
				op := map[string]string{"GreaterThanOrEqualToThreshold": ">=", "LessThanThreshold": "<"}[p["ComparisonOperator"].(string)]
				got = append(got, fmt.Sprintf("%s/%s %s%s%v per %vs on %s missing=%s -> %s ok-> %s", p["Namespace"], p["MetricName"], p["Statistic"],
					op, p["Threshold"], p["Period"], ref(dims[0]["Value"]), p["TreatMissingData"],
					ref(p["AlarmActions"].([]any)[0]), ref(p["OKActions"].([]any)[0])))
			}
			sort.Strings(got)
			to := " -> " + AlertTopicID + " ok-> " + AlertTopicID
			invPeriod := "900" // the inventory sync's interval: 15 minutes, hourly with the collector
			if collects {
				invPeriod = "3600"
			}
			want := []string{
				"AWS/Lambda/AsyncEventAge Maximum>=600000 per 300s on " + IngestFunctionID + " missing=notBreaching" + to,
				"AWS/Lambda/AsyncEventsDropped Sum>=1 per 300s on " + IngestFunctionID + " missing=notBreaching" + to,
				"AWS/Lambda/Errors Sum>=1 per 300s on " + IngestFunctionID + " missing=notBreaching" + to,
				"AWS/Lambda/Errors Sum>=1 per " + invPeriod + "s on " + InventoryFunctionID + " missing=notBreaching" + to,
				"AWS/Lambda/Throttles Sum>=1 per 300s on " + IngestFunctionID + " missing=notBreaching" + to,
				"AWS/SQS/ApproximateNumberOfMessagesVisible Maximum>=1 per 300s on " + DeadLetterQueueID + " missing=notBreaching" + to,
				tc.copy + "/LateRecords Sum>=1 per 300s on - missing=notBreaching" + to,
				tc.copy + "/Records Sum<1 per " + tc.noRecordsS + "s on - missing=breaching" + to,
			}
			if collects {
				// Objects the collector could not read: a gap in the lake and the alerts.
				want = append(want, tc.copy+"/Skipped Sum>=1 per 300s on - missing=notBreaching"+to)
			}
			diff(t, "alarms", got, sorted(want))
			// The copy's own counts come from the EMF lines in its own log group, so
			// copies under different -c env never see each other's records.
			var filters []string
			for _, f := range resources(t, tmpl, "AWS::Logs::MetricFilter") {
				mt := asList(f["MetricTransformations"])[0]
				filters = append(filters, fmt.Sprintf("%s on %s: %s/%s = %s", f["FilterPattern"], ref(f["LogGroupName"]),
					mt["MetricNamespace"], mt["MetricName"], mt["MetricValue"]))
			}
			pattern := `{ $._aws.CloudWatchMetrics[0].Namespace = "flowq" }`
			wantFilters := []string{
				pattern + " on " + IngestLogGroupID + ": " + tc.copy + "/LateRecords = $.LateRecords",
				pattern + " on " + IngestLogGroupID + ": " + tc.copy + "/Records = $.Records",
			}
			if collects {
				wantFilters = append(wantFilters, pattern+" on "+IngestLogGroupID+": "+tc.copy+"/Skipped = $.Skipped")
			}
			diff(t, "metric filters", sorted(filters), sorted(wantFilters))
		})
	}
}

func TestGlueTable(t *testing.T) {
	tmpl := synth(t, "menotime", nil).pipeline
	check(t, func() {
		tmpl.HasResourceProperties(jstr("AWS::Glue::Database"), map[string]any{
			"DatabaseInput": assertions.Match_ObjectLike(&map[string]any{"Name": "flowq_menotime"}),
		})
	})
	tbl := resources(t, tmpl, "AWS::Glue::Table")["GlueFlowsTable"]
	in := tbl["TableInput"].(map[string]any)
	sd := in["StorageDescriptor"].(map[string]any)
	var cols []string
	for _, c := range asList(sd["Columns"]) {
		cols = append(cols, c["Name"].(string)+" "+c["Type"].(string))
	}
	// AWS's types (int = INT_32, bigint = INT_64), written out by hand from AWS's
	// documentation rather than derived.
	diff(t, "columns", strings.Join(cols, ", "), "version int, account_id string, interface_id string, srcaddr string, dstaddr string, "+
		"srcport int, dstport int, protocol int, packets bigint, bytes bigint, start bigint, end bigint, action string, "+
		"log_status string, vpc_id string, subnet_id string, instance_id string, tcp_flags int, type string, "+
		"pkt_srcaddr string, pkt_dstaddr string, region string, az_id string, sublocation_type string, sublocation_id string, "+
		"flow_direction string, traffic_path int, pkt_src_aws_service string, pkt_dst_aws_service string")
	var parts []string
	for _, c := range asList(in["PartitionKeys"]) {
		parts = append(parts, c["Name"].(string)+" "+c["Type"].(string))
	}
	diff(t, "partitions", parts, []string{"year int", "month int", "day int", "hour int"})
	diff(t, "serde", sd["SerdeInfo"].(map[string]any)["SerializationLibrary"], "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
	params := map[string]string{}
	for k, v := range in["Parameters"].(map[string]any) {
		params[k] = flat(v)
	}
	diff(t, "projection", params, map[string]string{
		"classification": "parquet", "projection.enabled": "true",
		"projection.year.type": "integer", "projection.year.range": "2024,2099", "projection.year.digits": "4",
		"projection.month.type": "integer", "projection.month.range": "1,12", "projection.month.digits": "2",
		"projection.day.type": "integer", "projection.day.range": "1,31", "projection.day.digits": "2",
		"projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2",
		"storage.location.template": "s3://" + LakeBucketID + "/flows/year=${year}/month=${month}/day=${day}/hour=${hour}",
	})
	// Every column of the format is in the table, in order.
	var fromFormat []string
	for _, f := range strings.Fields(FlowLogFormat) {
		fromFormat = append(fromFormat, strings.ReplaceAll(strings.Trim(f, "${}"), "-", "_"))
	}
	var names []string
	for _, c := range LakeColumns {
		names = append(names, c.Name)
	}
	diff(t, "columns follow FlowLogFormat", names, fromFormat)
}
