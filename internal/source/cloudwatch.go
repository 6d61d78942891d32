package source

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/internal/parse"
)

// CloudWatchAPI is the part of the CloudWatch Logs client a pull uses
// (*cloudwatchlogs.Client).
type CloudWatchAPI interface {
	cloudwatchlogs.DescribeLogStreamsAPIClient
	cloudwatchlogs.FilterLogEventsAPIClient
}

// FlowLogsAPI finds the format of a log group's flow logs (*ec2.Client).
type FlowLogsAPI interface {
	DescribeFlowLogs(ctx context.Context, in *ec2.DescribeFlowLogsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error)
}

// CloudWatchSettle is how long after an hour ends its events are taken as
// complete: AWS delivers flow logs to CloudWatch Logs within about 5
// minutes (best effort), and aggregation intervals last up to 10.
const CloudWatchSettle = 15 * time.Minute

// expandCloudWatch returns one input per log stream and whole UTC hour of
// [Since, Until) whose events have settled. Its identity is (log group, log
// stream, hour): pulling an overlapping range again finds those hours
// already stored, and an hour still filling is left for a later pull, so no
// event is stored twice or skipped.
func (c *Config) expandCloudWatch(ctx context.Context, group string) ([]*Input, error) {
	if group == "" {
		return nil, fmt.Errorf("cloudwatch: no log group (cloudwatch:LOG_GROUP)")
	}
	if c.CloudWatch == nil {
		return nil, fmt.Errorf("cloudwatch:%s: no CloudWatch Logs client", group)
	}
	if c.Since.IsZero() {
		return nil, fmt.Errorf("cloudwatch:%s: give a time range (--since)", group)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	until := c.Until
	if until.IsZero() || until.After(now().Add(-CloudWatchSettle)) {
		until = now().Add(-CloudWatchSettle)
	}
	from := c.Since.UTC().Truncate(time.Hour)
	to := until.UTC().Truncate(time.Hour) // hours ending at or before until
	fm := c.Format
	if fm == nil {
		var err error
		if fm, err = c.groupFormat(ctx, group); err != nil {
			return nil, err
		}
	}
	var streams []string
	pg := cloudwatchlogs.NewDescribeLogStreamsPaginator(c.CloudWatch, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cloudwatch:%s: list log streams: %w", group, err)
		}
		for _, s := range page.LogStreams {
			// Skip streams with nothing in range (last event before it).
			if last := aws.ToInt64(s.LastEventTimestamp); last != 0 && time.UnixMilli(last).Before(from) {
				continue
			}
			streams = append(streams, aws.ToString(s.LogStreamName))
		}
	}
	var inputs []*Input
	for _, stream := range streams {
		for h := from; h.Before(to); h = h.Add(time.Hour) {
			name := "cloudwatch:" + group + "/" + stream + "@" + h.Format("2006-01-02T15Z")
			in := &Input{Name: name, Kind: KindCloudWatch, id: "cloudwatch:" + group + "/" + stream + "/" + h.Format(time.RFC3339), format: fm}
			in.open = c.streamOpener(group, stream, h, h.Add(time.Hour))
			inputs = append(inputs, in)
		}
	}
	return inputs, nil
}

// groupFormat asks DescribeFlowLogs for the format of the flow logs that
// deliver to the group.
func (c *Config) groupFormat(ctx context.Context, group string) (*parse.Format, error) {
	if c.EC2 == nil {
		return nil, fmt.Errorf("cloudwatch:%s: no EC2 client to find the log format; give --format", group)
	}
	out, err := c.EC2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{
		{Name: aws.String("log-group-name"), Values: []string{group}}}})
	if err != nil {
		return nil, fmt.Errorf("cloudwatch:%s: describe flow logs: %w (or give --format)", group, err)
	}
	formats := map[string]bool{}
	for _, fl := range out.FlowLogs {
		if f := aws.ToString(fl.LogFormat); f != "" {
			formats[f] = true
		}
	}
	switch len(formats) {
	case 0:
		return nil, fmt.Errorf("cloudwatch:%s: no flow log delivers to this log group; give --format", group)
	case 1:
		for f := range formats {
			fm, err := parse.ParseFormat(f)
			if err != nil {
				return nil, fmt.Errorf("cloudwatch:%s: format of its flow log: %w", group, err)
			}
			return fm, nil
		}
	}
	return nil, fmt.Errorf("cloudwatch:%s: %d flow logs with different formats deliver to this log group; give --format", group, len(formats))
}

// streamOpener returns the events of one stream in [from, to) as text, one
// message per line, fetched page by page as the reader reads.
func (c *Config) streamOpener(group, stream string, from, to time.Time) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		pg := cloudwatchlogs.NewFilterLogEventsPaginator(c.CloudWatch, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String(group), LogStreamNames: []string{stream},
			StartTime: aws.Int64(from.UnixMilli()), EndTime: aws.Int64(to.UnixMilli() - 1)})
		return &eventReader{ctx: ctx, pg: pg}, nil
	}
}

// eventReader turns FilterLogEvents pages into lines of text.
type eventReader struct {
	ctx context.Context
	pg  *cloudwatchlogs.FilterLogEventsPaginator
	buf strings.Builder
	out string
}

func (r *eventReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if !r.pg.HasMorePages() {
			return 0, io.EOF
		}
		page, err := r.pg.NextPage(r.ctx)
		if err != nil {
			return 0, err
		}
		r.buf.Reset()
		for _, e := range page.Events {
			r.buf.WriteString(strings.TrimRight(aws.ToString(e.Message), "\n"))
			r.buf.WriteByte('\n')
		}
		r.out = r.buf.String()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *eventReader) Close() error { return nil }
