// Package collecttest delivers flow-log text to S3 as AWS's S3 delivery
// does, for the collector's tests and the cost test.
package collecttest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/parse"
)

// Where AWS writes: {prefix}AWSLogs/{Account}/vpcflowlogs/{Region}/YYYY/MM/DD/.
const (
	Account   = "123456789012"
	Region    = "us-east-1"
	FlowLogID = "fl-0123456789abcdef0"
	// File is AWS's delivery period: one file per flow log per 5 minutes.
	File = 5 * time.Minute
)

// Object is one delivered file.
type Object struct {
	Key  string
	Body []byte // gzip, header line first
	At   time.Time
	// Lines is how many records it holds.
	Lines int
}

// RegionDir returns the directory AWS writes a flow log's day folders in,
// under prefix ("" or ending in "/").
func RegionDir(prefix string) string {
	return prefix + "AWSLogs/" + Account + "/vpcflowlogs/" + Region + "/"
}

// Deliver cuts text (records in format fm, one a line; a header line is
// dropped) into the files AWS would deliver: a record goes to the file of
// the 5-minute period its end falls in, named
// {account}_vpcflowlogs_{region}_{fl-id}_{YYYYMMDD}T{HHmm}Z_{hash}.log.gz
// under RegionDir(prefix)/YYYY/MM/DD/, each starting with the header line.
func Deliver(text []byte, fm *parse.Format, prefix string) ([]Object, error) {
	end := fm.Index(parse.ColEnd)
	if end < 0 {
		return nil, fmt.Errorf("format %q has no end field", fm)
	}
	files := map[int64][]byte{}
	counts := map[int64]int{}
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte{'\n'})
		text = rest
		if len(line) == 0 || bytes.Equal(line, []byte(fm.Header())) {
			continue
		}
		sec, err := strconv.ParseInt(string(cwlogs.Field(line, end)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: end: %w", line, err)
		}
		f := sec - sec%int64(File/time.Second)
		files[f] = append(append(files[f], line...), '\n')
		counts[f]++
	}
	periods := make([]int64, 0, len(files))
	for p := range files {
		periods = append(periods, p)
	}
	slices.Sort(periods)
	out := make([]Object, 0, len(periods))
	for _, p := range periods {
		at := time.Unix(p, 0).UTC()
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(fm.Header() + "\n"))
		zw.Write(files[p])
		if err := zw.Close(); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(gz.Bytes())
		name := fmt.Sprintf("%s_vpcflowlogs_%s_%s_%s_%s.log.gz", Account, Region, FlowLogID, at.Format("20060102T1504Z"),
			hex.EncodeToString(sum[:4]))
		out = append(out, Object{Key: RegionDir(prefix) + at.Format("2006/01/02/") + name, Body: gz.Bytes(), At: at, Lines: counts[p]})
	}
	return out, nil
}

// Upload puts the objects in bucket.
func Upload(ctx context.Context, c *s3.Client, bucket string, objs []Object) error {
	for _, o := range objs {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.Key), Body: bytes.NewReader(o.Body)}); err != nil {
			return fmt.Errorf("put %s: %w", o.Key, err)
		}
	}
	return nil
}

// PerHour moves the objects into hourly folders, as a flow log with
// PerHourPartition does: .../YYYY/MM/DD/HH/name.
func PerHour(objs []Object) []Object {
	out := make([]Object, len(objs))
	for i, o := range objs {
		dir, name := path.Split(o.Key)
		o.Key = dir + o.At.Format("15") + "/" + name
		out[i] = o
	}
	return out
}
