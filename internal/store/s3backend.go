package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3Backend is a bucket and key prefix. Keys are deterministic, so a plain
// PUT is idempotent; writes that must not replace use If-None-Match.
type s3Backend struct {
	client *s3.Client
	bucket string
	prefix string // "" or "dir/"
}

func newS3Backend(ctx context.Context, uri string, client *s3.Client) (*s3Backend, error) {
	rest := strings.TrimPrefix(uri, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return nil, errors.New("s3 URI without a bucket")
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	if client == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws config: %w", err)
		}
		client = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	}
	return &s3Backend{client: client, bucket: bucket, prefix: prefix}, nil
}

func (b *s3Backend) put(ctx context.Context, key string, data []byte, ifAbsent bool) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.prefix + key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := b.client.PutObject(ctx, in)
	if ifAbsent && isPreconditionFailed(err) {
		return nil // already there: keys are derived from the content
	}
	if err != nil {
		return fmt.Errorf("put s3://%s/%s%s: %w", b.bucket, b.prefix, key, err)
	}
	return nil
}

// putIf is a conditional PUT: If-Match the version read, or If-None-Match
// when there was none.
func (b *s3Backend) putIf(ctx context.Context, key string, data []byte, match string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.prefix + key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	if match == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(match)
	}
	out, err := b.client.PutObject(ctx, in)
	var nk *s3types.NoSuchKey
	if isPreconditionFailed(err) || errors.As(err, &nk) || isErrorCode(err, "NoSuchKey") {
		return "", fmt.Errorf("put s3://%s/%s%s: written or removed since it was read: %w", b.bucket, b.prefix, key, ErrConflict)
	}
	if err != nil {
		return "", fmt.Errorf("put s3://%s/%s%s: %w", b.bucket, b.prefix, key, err)
	}
	return aws.ToString(out.ETag), nil
}

func isErrorCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

func (b *s3Backend) get(ctx context.Context, key string) ([]byte, error) {
	data, _, err := b.getVersion(ctx, key)
	return data, err
}

func (b *s3Backend) getVersion(ctx context.Context, key string) ([]byte, string, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + key)},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		var nk *s3types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, "", fmt.Errorf("s3://%s/%s%s: %w", b.bucket, b.prefix, key, ErrNotExist)
		}
		return nil, "", fmt.Errorf("get s3://%s/%s%s: %w", b.bucket, b.prefix, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	return data, aws.ToString(out.ETag), err
}

func (b *s3Backend) open(ctx context.Context, key string) (readerAtSeekCloser, error) {
	data, err := b.get(ctx, key)
	if err != nil {
		return nil, err
	}
	return nopCloser{bytes.NewReader(data)}, nil
}

// tailBytes is how much of an object's end openTail fetches: a flow-log
// file's footer is a few KiB.
const tailBytes = 64 << 10

// openTail fetches the last tailBytes of the object with one ranged GET;
// reads before them fetch their own range.
func (b *s3Backend) openTail(ctx context.Context, key string, size int64) (readerAtSeekCloser, error) {
	if size <= tailBytes {
		return b.open(ctx, key)
	}
	t := &tailReader{ctx: ctx, b: b, key: key, size: size, off: size - tailBytes}
	var err error
	if t.tail, err = b.getRange(ctx, key, t.off, size); err != nil {
		return nil, err
	}
	return t, nil
}

func (b *s3Backend) getRange(ctx context.Context, key string, from, to int64) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", from, to-1))},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		var nk *s3types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, fmt.Errorf("s3://%s/%s%s: %w", b.bucket, b.prefix, key, ErrNotExist)
		}
		return nil, fmt.Errorf("get s3://%s/%s%s: %w", b.bucket, b.prefix, key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// tailReader serves reads of an object's last bytes from memory.
type tailReader struct {
	ctx  context.Context
	b    *s3Backend
	key  string
	size int64
	off  int64 // where tail starts
	tail []byte
	pos  int64
}

func (t *tailReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), t.size)
	var src []byte
	if off >= t.off {
		src = t.tail[off-t.off : end-t.off]
	} else {
		var err error
		if src, err = t.b.getRange(t.ctx, t.key, off, end); err != nil {
			return 0, err
		}
	}
	n := copy(p, src)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (t *tailReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		t.pos = offset
	case io.SeekCurrent:
		t.pos += offset
	case io.SeekEnd:
		t.pos = t.size + offset
	}
	return t.pos, nil
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.ReadAt(p, t.pos)
	t.pos += int64(n)
	return n, err
}

func (*tailReader) Close() error { return nil }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func (b *s3Backend) create(ctx context.Context, key string, data []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(b.prefix + key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		IfNoneMatch:   aws.String("*"),
	})
	if isPreconditionFailed(err) {
		return fmt.Errorf("s3://%s/%s%s: %w", b.bucket, b.prefix, key, errExists)
	}
	if err != nil {
		return fmt.Errorf("put s3://%s/%s%s: %w", b.bucket, b.prefix, key, err)
	}
	return nil
}

// move is a server-side copy, then a delete of the source.
func (b *s3Backend) move(ctx context.Context, from, to string) error {
	_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(b.bucket),
		Key:        aws.String(b.prefix + to),
		CopySource: aws.String(url.PathEscape(b.bucket + "/" + b.prefix + from)),
	})
	if err != nil {
		var nk *s3types.NoSuchKey
		var ae smithy.APIError
		if errors.As(err, &nk) || errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
			if _, herr := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + to)}); herr == nil {
				return nil
			}
			return fmt.Errorf("move s3://%s/%s%s: %w", b.bucket, b.prefix, from, ErrNotExist)
		}
		return fmt.Errorf("copy s3://%s/%s%s: %w", b.bucket, b.prefix, from, err)
	}
	return b.remove(ctx, []string{from})
}

func (b *s3Backend) list(ctx context.Context, prefix string) ([]objInfo, error) {
	var out []objInfo
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(b.prefix + prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nb *s3types.NoSuchBucket
			if errors.As(err, &nb) {
				return nil, fmt.Errorf("bucket %s %w", b.bucket, ErrNotExist)
			}
			return nil, fmt.Errorf("list s3://%s/%s: %w", b.bucket, b.prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, objInfo{key: strings.TrimPrefix(aws.ToString(o.Key), b.prefix), size: aws.ToInt64(o.Size), modified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

func (b *s3Backend) remove(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		ids := make([]s3types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			ids[i] = s3types.ObjectIdentifier{Key: aws.String(b.prefix + k)}
		}
		out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b.bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("delete from s3://%s/%s: %w", b.bucket, b.prefix, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete s3://%s/%s: %s", b.bucket, aws.ToString(e.Key), aws.ToString(e.Message))
		}
		keys = keys[n:]
	}
	return nil
}
