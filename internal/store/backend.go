package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// backend stores objects under slash-separated keys relative to the root.
type backend interface {
	// put stores data under key, replacing any object there. With ifAbsent
	// an existing object is kept and put returns nil.
	put(ctx context.Context, key string, data []byte, ifAbsent bool) error
	get(ctx context.Context, key string) ([]byte, error)
	// open returns a random-access reader over the object.
	open(ctx context.Context, key string) (readerAtSeekCloser, error)
	// list returns every object under the root (prefix "" ) or under a
	// key prefix.
	list(ctx context.Context, prefix string) ([]objInfo, error)
	remove(ctx context.Context, keys []string) error
	// create stores data under key unless an object is there already, in
	// which case it returns errExists.
	create(ctx context.Context, key string, data []byte) error
	// move renames from to to, replacing to. When from is gone and to
	// exists (a move already done) it returns nil.
	move(ctx context.Context, from, to string) error
}

// errExists is returned by create when the key is taken.
var errExists = errors.New("already exists")

type readerAtSeekCloser interface {
	io.ReaderAt
	io.Seeker
	io.Closer
}

type objInfo struct {
	key      string
	size     int64
	modified time.Time
}

// localBackend is a directory. Writes go to a hidden temporary file in the
// target directory and are renamed into place, so readers never see a
// partial object.
type localBackend struct{ root string }

func newLocalBackend(dir string, create bool) (*localBackend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("directory %s %w", abs, ErrNotExist)
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("%s is not a directory", abs)
	}
	return &localBackend{root: abs}, nil
}

func (b *localBackend) path(key string) string { return filepath.Join(b.root, filepath.FromSlash(key)) }

func (b *localBackend) put(_ context.Context, key string, data []byte, ifAbsent bool) error {
	dst := b.path(key)
	if ifAbsent {
		if _, err := os.Stat(dst); err == nil {
			return nil
		}
	}
	tmp, err := b.writeTmp(dst, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeTmp writes data to a hidden temporary file beside dst.
func (b *localBackend) writeTmp(dst string, data []byte) (string, error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(dst)+"."+hex.EncodeToString(rnd[:])+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return "", werr
	}
	return tmp, nil
}

func (b *localBackend) get(_ context.Context, key string) ([]byte, error) {
	data, err := os.ReadFile(b.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	return data, err
}

func (b *localBackend) open(_ context.Context, key string) (readerAtSeekCloser, error) {
	f, err := os.Open(b.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	return f, err
}

func (b *localBackend) create(_ context.Context, key string, data []byte) error {
	dst := b.path(key)
	tmp, err := b.writeTmp(dst, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link fails if dst exists: an atomic, exclusive create of a
	// complete file.
	err = os.Link(tmp, dst)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", key, errExists)
	}
	return err
}

func (b *localBackend) move(_ context.Context, from, to string) error {
	dst := b.path(to)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	err := os.Rename(b.path(from), dst)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dst); serr == nil {
			return nil
		}
		return fmt.Errorf("move %s: %w", from, ErrNotExist)
	}
	return err
}

func (b *localBackend) list(_ context.Context, prefix string) ([]objInfo, error) {
	var out []objInfo
	start := b.root
	if prefix != "" {
		start = b.path(strings.TrimSuffix(prefix, "/"))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != b.root {
				return nil // removed while walking
			}
			return err
		}
		if d.IsDir() {
			if p != b.root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		out = append(out, objInfo{key: filepath.ToSlash(rel), size: info.Size(), modified: info.ModTime()})
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("directory %s %w", b.root, ErrNotExist)
	}
	return out, err
}

func (b *localBackend) remove(_ context.Context, keys []string) error {
	var errs []error
	for _, k := range keys {
		if err := os.Remove(b.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

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

func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

func (b *s3Backend) get(ctx context.Context, key string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + key)},
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

func (b *s3Backend) open(ctx context.Context, key string) (readerAtSeekCloser, error) {
	data, err := b.get(ctx, key)
	if err != nil {
		return nil, err
	}
	return nopCloser{bytes.NewReader(data)}, nil
}

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

// keyJoin joins a partition and a name into a key.
func keyJoin(p Partition, name string) string { return path.Join(p.Path(), name) }
