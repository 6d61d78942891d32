package lakedb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/flowq/flowq/internal/store"
)

// s3Cache keeps local copies of an s3:// lake's objects for DuckDB, which
// cannot read S3 itself (flowq's DuckDB has no httpfs). A copy is named by
// the object's key and ETag,
//
//	<dir>/<lake>/year=…/month=…/day=…/hour=…/<name>.<etag>.parquet
//
// so the Hive directories stay and a rewritten object (new ETag) is fetched
// again. The ETags come from one listing per session; each download asks
// for that ETag (If-Match), so a copy never holds other content than its
// name says. Older copies of a key are removed when a new one arrives.
type s3Cache struct {
	client         *s3.Client
	bucket, prefix string
	dir            string // this lake's directory in the cache
	log            *slog.Logger
}

// downloadsInFlight bounds concurrent GETs.
const downloadsInFlight = 8

func newS3Cache(ctx context.Context, uri, cacheDir string, client *s3.Client, log *slog.Logger) (*s3Cache, error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if bucket == "" {
		return nil, fmt.Errorf("lake %s: s3 URI without a bucket", uri)
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
	sum := sha256.Sum256([]byte("s3://" + bucket + "/" + prefix))
	dir := filepath.Join(cacheDir, bucket+"-"+hex.EncodeToString(sum[:6]))
	return &s3Cache{client: client, bucket: bucket, prefix: prefix, dir: dir, log: log}, nil
}

// etags lists the lake's objects' ETags by key (relative to the lake).
func (c *s3Cache) etags(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(c.client, &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), Prefix: aws.String(c.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", c.bucket, c.prefix, err)
		}
		for _, o := range page.Contents {
			out[strings.TrimPrefix(aws.ToString(o.Key), c.prefix)] = aws.ToString(o.ETag)
		}
	}
	return out, nil
}

// files returns a local copy of every object, downloading the ones the
// cache does not hold under their current ETag.
func (c *s3Cache) files(ctx context.Context, objs []store.Object, st *Stats) ([]string, error) {
	tags, err := c.etags(ctx)
	if err != nil {
		return nil, err
	}
	c.prune(tags)
	out := make([]string, len(objs))
	var missing []int
	for i, o := range objs {
		tag, ok := tags[o.Key]
		if !ok {
			return nil, fmt.Errorf("s3://%s/%s%s: %w since it was listed", c.bucket, c.prefix, o.Key, store.ErrNotExist)
		}
		out[i] = c.path(o.Key, tag)
		if _, err := os.Stat(out[i]); err == nil {
			st.Cached++
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	c.log.Info("downloading lake objects", "objects", len(missing), "cached", st.Cached, "cache", c.dir)
	sem := make(chan struct{}, downloadsInFlight)
	errs := make([]error, len(missing))
	sizes := make([]int64, len(missing))
	var wg sync.WaitGroup
	for j, i := range missing {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sizes[j], errs[j] = c.download(ctx, objs[i].Key, tags[objs[i].Key], out[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, n := range sizes {
		st.DownloadedBytes += n
	}
	st.Downloaded += len(missing)
	return out, nil
}

// prune removes the cached copies of objects the lake no longer holds
// under that ETag (merged by compaction, removed, rewritten), so the cache
// does not outgrow the lake. Errors are ignored: a copy left behind costs
// only space.
func (c *s3Cache) prune(tags map[string]string) {
	filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".parquet") {
			return nil
		}
		rel, err := filepath.Rel(c.dir, p)
		if err != nil {
			return nil
		}
		dir, name := path.Split(filepath.ToSlash(rel))
		stem := strings.TrimSuffix(name, ".parquet")
		i := strings.LastIndexByte(stem, '.')
		if i < 0 {
			return nil
		}
		key := dir + stem[:i] + ".parquet"
		if tag, ok := tags[key]; !ok || c.path(key, tag) != p {
			os.Remove(p)
		}
		return nil
	})
}

// path is the cache file of key at etag.
func (c *s3Cache) path(key, etag string) string {
	dir, name := path.Split(key)
	tag := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' {
			return r
		}
		return -1
	}, etag)
	return filepath.Join(c.dir, filepath.FromSlash(dir), strings.TrimSuffix(name, ".parquet")+"."+tag+".parquet")
}

// download fetches key at etag into dst (through a temporary file renamed
// into place, so a reader never sees half a copy) and removes older copies
// of the key. It returns the bytes written.
func (c *s3Cache) download(ctx context.Context, key, etag, dst string) (int64, error) {
	uri := "s3://" + c.bucket + "/" + c.prefix + key
	out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(c.prefix + key), IfMatch: aws.String(etag)})
	if err != nil {
		if gone(err) { // deleted or rewritten since the listing: Open lists again
			return 0, fmt.Errorf("get %s: %w since it was listed", uri, store.ErrNotExist)
		}
		return 0, fmt.Errorf("get %s: %w", uri, err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, fmt.Errorf("cache %s: %w", uri, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return 0, fmt.Errorf("cache %s: %w", uri, err)
	}
	n, err := io.Copy(tmp, out.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("download %s: %w", uri, err)
	}
	// Older copies of the same key: <name>.<other etag>.parquet.
	stem := strings.TrimSuffix(path.Base(key), ".parquet") + "."
	if old, err := filepath.Glob(filepath.Join(filepath.Dir(dst), globEscape(stem)+"*.parquet")); err == nil {
		for _, f := range old {
			if f != dst && !strings.Contains(strings.TrimPrefix(filepath.Base(f), stem), ".") {
				os.Remove(f)
			}
		}
	}
	return n, nil
}

// gone reports whether a GET's error says the object is not there under
// the ETag asked for.
func gone(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "PreconditionFailed")
}

// globEscape escapes filepath.Match's special characters.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}
