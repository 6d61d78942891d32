package source

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestS3 reads objects in place under both of AWS's S3 layouts, narrowed
// by account and region like flowlogs-reader; an AWS object's identity is
// its name, with its ETag as digest.
func TestS3(t *testing.T) {
	srv := motoserver.Start(t)
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := t.Context()
	const bucket = "flow-log-delivery"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	rec := func(acct string, start int) string {
		return fmt.Sprintf("2 %s eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 %d %d ACCEPT OK\n", acct, start, start+60)
	}
	header := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
	objects := map[string]string{}
	put := func(key, body string) {
		objects[key] = body
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: bytes.NewReader(gz(t, []byte(body)))}); err != nil {
			t.Fatal(err)
		}
	}
	plain := func(acct, region string, n int) string {
		return fmt.Sprintf("AWSLogs/%s/vpcflowlogs/%s/2014/12/14/%s_vpcflowlogs_%s_fl-1234abcd_20141214T040%dZ_1a2b3c4d.log.gz", acct, region, acct, region, n)
	}
	hive := fmt.Sprintf("AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=us-east-1/year=2014/month=12/day=14/hour=04/210987654321_vpcflowlogs_us-east-1_fl-99_20141214T0400Z_ff00ff00.log.gz")
	put(plain("123456789010", "us-east-1", 0), header+rec("123456789010", 1418530010)+rec("123456789010", 1418530020))
	put(plain("123456789010", "us-east-1", 5), header+rec("123456789010", 1418530310))
	put(plain("123456789010", "eu-west-1", 0), header+rec("123456789010", 1418530010))
	put(hive, header+rec("210987654321", 1418530010)+rec("210987654321", 1418530011)+rec("210987654321", 1418530012))
	put("AWSLogs/123456789010/vpcflowlogs/us-east-1/2014/12/14/notes.md", "not flow logs")

	for _, tc := range []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"all", Filter{}, []string{plain("123456789010", "eu-west-1", 0), plain("123456789010", "us-east-1", 0), plain("123456789010", "us-east-1", 5), hive}},
		{"account", Filter{Account: "210987654321"}, []string{hive}},
		{"account and region", Filter{Account: "123456789010", Region: "us-east-1"}, []string{plain("123456789010", "us-east-1", 0), plain("123456789010", "us-east-1", 5)}},
		{"region", Filter{Region: "eu-west-1"}, []string{plain("123456789010", "eu-west-1", 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{S3: client, Filter: tc.filter}
			ins, _, err := c.Expand(ctx, []string{"s3://" + bucket + "/AWSLogs/"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var records, want int64
			for _, in := range ins {
				got = append(got, strings.TrimPrefix(in.Name, "s3://"+bucket+"/"))
				info, err := in.Identify(ctx)
				if err != nil || info.ID != "aws:"+in.AWSName || !strings.HasPrefix(info.Digest, "etag:") || info.Kind != KindS3 {
					t.Errorf("identity %+v, %v", info, err)
				}
				starts, _, err := readInput(t, in, ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				records += int64(len(starts))
			}
			for _, k := range tc.want {
				want += countLines(objects[k])
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("objects (-got +want):\n%s", diff)
			}
			if records != want {
				t.Errorf("%d records, want %d", records, want)
			}
		})
	}
}

// TestCloudWatch pulls a log group: one input per stream and whole settled
// hour, the format from DescribeFlowLogs; the records equal an independent
// count of the raw messages in those hours, and the hour still filling is
// left for a later pull.
func TestCloudWatch(t *testing.T) {
	srv := motoserver.Start(t)
	cfg := srv.Config(t)
	cw := cloudwatchlogs.NewFromConfig(cfg)
	ec := ec2.NewFromConfig(cfg)
	ctx := t.Context()
	const group = "/vpc/flow-logs"
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	const format = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action} ${log-status}"
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{ResourceIds: []string{aws.ToString(vpc.Vpc.VpcId)}, ResourceType: ec2types.FlowLogsResourceTypeVpc,
		TrafficType: ec2types.TrafficTypeAll, LogDestinationType: ec2types.LogDestinationTypeCloudWatchLogs, LogGroupName: aws.String(group),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::123456789012:role/flow-logs"), LogFormat: aws.String(format)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	hour := now.Truncate(time.Hour)
	// Two settled hours and the current one, in two streams (one per ENI).
	wantPerHour := map[string]int64{}
	for s, eni := range []string{"eni-0a1b2c3d4e5f60011-all", "eni-0a1b2c3d4e5f60021-all"} {
		if _, err := cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(eni)}); err != nil {
			t.Fatal(err)
		}
		var events []cwtypes.InputLogEvent
		for h := -3; h <= 0; h++ {
			at := hour.Add(time.Duration(h) * time.Hour)
			n := 3 + s + (h+3)*2
			for i := range n {
				start := at.Add(time.Duration(i) * time.Minute)
				if start.After(now) {
					start = now.Add(-time.Second)
				}
				msg := fmt.Sprintf("2 %s 10.0.11.50 203.0.113.%d %d %d %d ACCEPT OK", strings.TrimSuffix(eni, "-all"), i, 100+i, start.Unix(), start.Unix()+60)
				events = append(events, cwtypes.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(start.UnixMilli())})
				if h < 0 && at.Add(time.Hour).Add(CloudWatchSettle).Before(now) {
					wantPerHour[eni+"@"+at.Format("2006-01-02T15Z")]++
				}
			}
		}
		if _, err := cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(eni), LogEvents: events}); err != nil {
			t.Fatal(err)
		}
	}
	c := Config{CloudWatch: cw, EC2: ec, Since: now.Add(-24 * time.Hour)}
	ins, _, err := c.Expand(ctx, []string{"cloudwatch:" + group})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	ids := map[string]bool{}
	for _, in := range ins {
		info, err := in.Identify(ctx)
		if err != nil || info.Kind != KindCloudWatch || ids[info.ID] {
			t.Fatalf("identity %+v %v (duplicate: %v)", info, err, ids[info.ID])
		}
		ids[info.ID] = true
		starts, st, err := readInput(t, in, ReadOptions{})
		if err != nil || st.BadLines > 0 {
			t.Fatalf("%s: %v, %d bad lines", in.Name, err, st.BadLines)
		}
		if len(starts) > 0 {
			got[strings.TrimPrefix(in.Name, "cloudwatch:"+group+"/")] = int64(len(starts))
		}
	}
	if diff := cmp.Diff(got, wantPerHour); diff != "" {
		t.Errorf("records per stream and hour (-got +want):\n%s", diff)
	}

	// The format given explicitly needs no EC2 client; a group without a
	// flow log and without --format is an error that says what to do.
	c = Config{CloudWatch: cw, Since: now.Add(-24 * time.Hour), Format: nil}
	if _, _, err := c.Expand(ctx, []string{"cloudwatch:" + group}); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("no EC2 client and no format: %v", err)
	}
}
