package source

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// NeedsAWS reports which AWS services the arguments read: S3 for
// s3://bucket/prefix, CloudWatch Logs (and EC2 for the format) for
// cloudwatch:LOG_GROUP.
func NeedsAWS(args []string) (s3Args, cloudWatchArgs bool) {
	for _, arg := range args {
		s3Args = s3Args || strings.HasPrefix(arg, s3Scheme)
		cloudWatchArgs = cloudWatchArgs || strings.HasPrefix(arg, cloudWatchScheme)
	}
	return s3Args, cloudWatchArgs
}

// UseAWS makes the clients the arguments need from cfg (path-style S3
// addressing, so endpoints such as moto_server work too).
func (c *Config) UseAWS(cfg aws.Config, args []string) {
	s3Args, cwArgs := NeedsAWS(args)
	if s3Args {
		c.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	}
	if cwArgs {
		c.CloudWatch = cloudwatchlogs.NewFromConfig(cfg)
		c.EC2 = ec2.NewFromConfig(cfg)
	}
}
