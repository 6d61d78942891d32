// Package source turns every kind of flow-log input into record batches with
// an identity: local files and directories (plain text, gzip, AWS's Parquet,
// the S3 key layouts AWS delivers under AWSLogs/), standard input, S3
// objects read in place, and CloudWatch Logs groups.
//
// An Input's identity (Info.ID) is content based: AWS's own object name for
// files AWS delivered (unique per delivery, whatever path or bucket they
// were copied to), else a SHA-256 digest of the bytes. The same content
// ingested from two paths therefore has one identity, and the lake stores
// it once.
//
// Input is validated as it is read: a Parquet file without flow-log
// columns, a text format without ${start}, binary data and a truncated gzip
// stream each end the input with one error naming it; the caller discards
// what it wrote for that input.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/flowq/flowq/internal/parse"
)

// Kinds of input (Info.Kind).
const (
	KindFile       = "file"
	KindStdin      = "stdin"
	KindS3         = "s3"
	KindCloudWatch = "cloudwatch"
)

// Info names an input: ID is its content-based identity, Name what a person
// calls it (a path, an s3:// URI, a log group and stream), Kind one of the
// Kind constants, Digest a digest of the content when ID is not one (an
// AWS-delivered object downloaded again whole after a truncated copy keeps
// its ID and changes its digest). It has the fields of store.SourceInfo.
type Info struct {
	ID, Name, Kind, Digest string
}

// Input is one unit of ingestion: a file, an object, standard input, or the
// events of one log stream in one hour.
type Input struct {
	Name string
	Kind string
	// Size in bytes as stored (compressed), when known in advance; for
	// progress.
	Size int64
	// AWSName is the object name AWS gave the file when it delivered it
	// ("" for anything else): the identity of AWS-delivered objects.
	AWSName string

	id     string // set when known without reading
	digest string
	etag   string                                           // an S3 object's ETag: its digest without reading it
	format *parse.Format                                    // text format known from elsewhere (CloudWatch)
	open   func(ctx context.Context) (io.ReadCloser, error) // the stored bytes
	// spool is set for inputs that can be read only once (stdin): Identify
	// copies them to a temporary file and later reads come from it.
	spool *spool
}

// Info returns the input's identity; Identify must have succeeded.
func (in *Input) Info() Info { return Info{ID: in.id, Name: in.Name, Kind: in.Kind, Digest: in.digest} }

// Identify computes the input's identity: "aws:" + AWS's object name for
// AWS-delivered objects (with the object's ETag or the SHA-256 of its bytes
// as Digest), else "sha256:" + the digest of the stored bytes. Hashing
// reads the input once; standard input is kept in a temporary file for the
// second read.
func (in *Input) Identify(ctx context.Context) (Info, error) {
	if in.id != "" {
		return in.Info(), nil
	}
	if in.AWSName != "" && in.etag != "" {
		in.id, in.digest = "aws:"+in.AWSName, "etag:"+in.etag
		return in.Info(), nil
	}
	r, err := in.open(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", in.Name, err)
	}
	defer r.Close()
	h := sha256.New()
	var w io.Writer = h
	if in.spool != nil {
		if err := in.spool.create(); err != nil {
			return Info{}, fmt.Errorf("%s: %w", in.Name, err)
		}
		w = io.MultiWriter(h, in.spool.f)
	}
	n, err := io.CopyBuffer(w, onlyReader{r}, make([]byte, 1<<20)) // big reads: fewer syscalls
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", in.Name, err)
	}
	if in.spool != nil {
		in.spool.done()
		in.Size = n
	}
	sum := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if in.AWSName != "" {
		in.id, in.digest = "aws:"+in.AWSName, sum
	} else {
		in.id = sum
	}
	return in.Info(), nil
}

// Close removes what Identify kept (standard input's temporary file).
func (in *Input) Close() error {
	if in.spool != nil {
		return in.spool.remove()
	}
	return nil
}

// openStored opens the stored bytes (from the spool once there is one).
func (in *Input) openStored(ctx context.Context) (io.ReadCloser, error) {
	if in.spool != nil && in.spool.ready {
		return in.spool.open()
	}
	return in.open(ctx)
}

// onlyReader hides WriterTo, so io.CopyBuffer uses the buffer given.
type onlyReader struct{ io.Reader }
