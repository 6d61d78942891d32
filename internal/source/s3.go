package source

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Getter reads objects (*s3.Client).
type S3Getter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3API is the part of the S3 client that lists and reads flow-log objects
// (*s3.Client).
type S3API interface {
	s3.ListObjectsV2APIClient
	S3Getter
}

// expandS3 lists the flow-log objects under s3://bucket/prefix, in the AWS
// layouts narrowed by the account and region filter.
func (c *Config) expandS3(ctx context.Context, uri string) ([]*Input, error) {
	if c.S3 == nil {
		return nil, fmt.Errorf("%s: no S3 client", uri)
	}
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, s3Scheme), "/")
	if bucket == "" {
		return nil, fmt.Errorf("%s: no bucket", uri)
	}
	var inputs []*Input
	for _, p := range c.Filter.prefixes(prefix) {
		pg := s3.NewListObjectsV2Paginator(c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(p)})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", uri, err)
			}
			for _, o := range page.Contents {
				key := aws.ToString(o.Key)
				if in, ok := S3Object(c.S3, bucket, key, aws.ToString(o.ETag), aws.ToInt64(o.Size), c.Filter); ok {
					inputs = append(inputs, in)
				}
			}
		}
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Name < inputs[j].Name })
	return inputs, nil
}

// S3Object returns the input of one object (the Lambda's S3 notifications
// name them), or false when its name is not a flow-log file's or the filter
// leaves it out. etag, when set, pins the version read (If-Match) and is
// the digest of an AWS-delivered object.
func S3Object(client S3Getter, bucket, key, etag string, size int64, f Filter) (*Input, bool) {
	base := key[strings.LastIndexByte(key, '/')+1:]
	if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || !flowLogName(base) {
		return nil, false
	}
	o, isAWS := ParseAWSName(base)
	if !f.match(o, isAWS) {
		return nil, false
	}
	return &Input{Name: s3Scheme + bucket + "/" + key, Kind: KindS3, Size: size, AWSName: o.Name, etag: strings.Trim(etag, `"`),
		open: func(ctx context.Context) (io.ReadCloser, error) {
			in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
			if etag != "" {
				in.IfMatch = aws.String(etag)
			}
			out, err := client.GetObject(ctx, in)
			if err != nil {
				return nil, err
			}
			return out.Body, nil
		}}, true
}
