package collect

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/source"
)

// Objects is the part of the S3 client the collector uses on the delivery
// bucket (*s3.Client): ListObjectsV2 and GetObject.
type Objects = source.S3API

// object is one delivered object listed.
type object struct {
	Key, ETag string
	Size      int64
	Slot      int64 // start of the slot of its name's time, Unix seconds
	At        int64 // the time in its name (else its last modification), Unix seconds
}

// awsTimeLayout is the time in AWS's object names: {YYYYMMDD}T{HHmm}Z.
const awsTimeLayout = "20060102T1504Z"

// regionDirs returns the directories AWS writes the day folders in:
// the configured prefix when it names one, else every
// AWSLogs/{account}/vpcflowlogs/{region}/ under it.
func (c *Collector) regionDirs(ctx context.Context) ([]string, error) {
	p := c.cfg.Prefix
	if strings.Contains("/"+p, "/vpcflowlogs/") {
		return []string{p}, nil
	}
	if !strings.HasSuffix(p, "AWSLogs/") {
		p += "AWSLogs/"
	}
	accounts, err := c.dirs(ctx, p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range accounts {
		regions, err := c.dirs(ctx, a+"vpcflowlogs/")
		if err != nil {
			return nil, err
		}
		out = append(out, regions...)
	}
	return out, nil
}

// dirs lists the "directories" right under prefix.
func (c *Collector) dirs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	pg := s3.NewListObjectsV2Paginator(c.cfg.Objects, &s3.ListObjectsV2Input{
		Bucket: aws.String(c.cfg.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", c.cfg.Bucket, prefix, err)
		}
		for _, p := range page.CommonPrefixes {
			out = append(out, aws.ToString(p.Prefix))
		}
	}
	return out, nil
}

// list returns the flow-log objects of the day folders from from's day
// to now's (UTC), with their slots: by the time in AWS's name, else by
// their last modification.
func (c *Collector) list(ctx context.Context, from, now time.Time) ([]object, error) {
	dirs, err := c.regionDirs(ctx)
	if err != nil {
		return nil, err
	}
	var out []object
	for _, dir := range dirs {
		for day := from.UTC().Truncate(24 * time.Hour); !day.After(now); day = day.Add(24 * time.Hour) {
			prefix := dir + day.Format("2006/01/02/")
			pg := s3.NewListObjectsV2Paginator(c.cfg.Objects, &s3.ListObjectsV2Input{
				Bucket: aws.String(c.cfg.Bucket), Prefix: aws.String(prefix)})
			for pg.HasMorePages() {
				page, err := pg.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("list s3://%s/%s: %w", c.cfg.Bucket, prefix, err)
				}
				for _, o := range page.Contents {
					key := aws.ToString(o.Key)
					if _, ok := source.S3Object(c.cfg.Objects, c.cfg.Bucket, key, "", 0, source.Filter{}); !ok {
						continue // not a flow-log file's name
					}
					at := aws.ToTime(o.LastModified)
					if n, ok := source.ParseAWSName(key); ok {
						if t, err := time.Parse(awsTimeLayout, n.Time); err == nil {
							at = t
						}
					}
					out = append(out, object{Key: key, ETag: strings.Trim(aws.ToString(o.ETag), `"`),
						Size: aws.ToInt64(o.Size), Slot: c.slot(at), At: at.Unix()})
				}
			}
		}
	}
	return out, nil
}

// slot returns the start of t's slot, Unix seconds.
func (c *Collector) slot(t time.Time) int64 {
	iv := int64(c.cfg.Interval / time.Second)
	u := t.Unix()
	return u - ((u%iv)+iv)%iv
}
