package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestIngestFromAWS: flowq ingest reads s3://bucket/prefix in place
// (--account narrows it) and pulls a CloudWatch Logs group (--format, as
// the group has no flow log in moto), through the SDK's AWS_ENDPOINT_URL as
// a user's environment would; a second pull of an overlapping range stores
// nothing.
func TestIngestFromAWS(t *testing.T) {
	srv := motoserver.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := t.Context()
	cfg := srv.Config(t)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("delivery")}); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{"123456789010", "210987654321"} {
		key := fmt.Sprintf("AWSLogs/%s/vpcflowlogs/us-east-1/2014/12/14/%s_vpcflowlogs_us-east-1_fl-1234abcd_20141214T0400Z_1a2b3c4d.log.gz", acct, acct)
		body := gzipBytes([]byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" + awsRecords))
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("delivery"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	lake := filepath.Join(t.TempDir(), "lake")
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "ingest", "--account", "210987654321", "s3://delivery/AWSLogs/")
	if code != 0 || !strings.Contains(out, "ingested 1 of 1 inputs") || len(lakeStarts(t, lake)) != 4 {
		t.Fatalf("s3: exit %d\n%s\n%s", code, out, errb)
	}

	cw := cloudwatchlogs.NewFromConfig(cfg)
	group, stream := "/vpc/flows", "eni-0a1b2c3d4e5f60011-all"
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	var events []cwtypes.InputLogEvent
	for i := range 7 {
		start := at.Add(time.Duration(i) * time.Minute)
		events = append(events, cwtypes.InputLogEvent{Timestamp: aws.Int64(start.UnixMilli()),
			Message: aws.String(fmt.Sprintf("eni-0a1b2c3d4e5f60011 10.0.11.50 203.0.113.%d %d %d %d ACCEPT", i, 100*i, start.Unix(), start.Unix()+60))})
	}
	if _, err := cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: events}); err != nil {
		t.Fatal(err)
	}
	format := "${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action}"
	code, out, errb = runCLI(t, "", nil, "--lake", lake, "ingest", "--format", format, "--since", "6h", "cloudwatch:"+group)
	if code != 0 || len(lakeStarts(t, lake)) != 4+7 {
		t.Fatalf("cloudwatch: exit %d, %d records\n%s\n%s", code, len(lakeStarts(t, lake)), out, errb)
	}
	code, out, errb = runCLI(t, "", nil, "--lake", lake, "ingest", "--format", format, "--since", "12h", "cloudwatch:"+group)
	if code != 0 || len(lakeStarts(t, lake)) != 4+7 || !strings.Contains(out, "already stored") {
		t.Errorf("cloudwatch again: exit %d, %d records\n%s\n%s", code, len(lakeStarts(t, lake)), out, errb)
	}
}
