package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Metadata objects (inventory snapshots and the like) live under
// <root>/_flowq/meta/, outside the flow partitions: no reader of flow logs
// sees them.

// PutMeta stores data under name, a slash-separated relative path such as
// "inventory/2026-11-20T08:00:00Z.json", replacing any object there.
func (l *Lake) PutMeta(ctx context.Context, name string, data []byte) error {
	if err := checkMetaName(name); err != nil {
		return err
	}
	return l.be.put(ctx, userMetaDir+name, data, false)
}

// GetMeta returns the object stored under name; a missing one is an error
// wrapping ErrNotExist.
func (l *Lake) GetMeta(ctx context.Context, name string) ([]byte, error) {
	if err := checkMetaName(name); err != nil {
		return nil, err
	}
	return l.be.get(ctx, userMetaDir+name)
}

// ErrConflict: a conditional write found the object changed since it was
// read (PutMetaIf).
var ErrConflict = errors.New("changed since it was read")

// GetMetaVersion is GetMeta with the object's version (S3's ETag), for
// PutMetaIf.
func (l *Lake) GetMetaVersion(ctx context.Context, name string) ([]byte, string, error) {
	if err := checkMetaName(name); err != nil {
		return nil, "", err
	}
	return l.be.getVersion(ctx, userMetaDir+name)
}

// PutMetaIf stores data under name only if the object there is still the
// version read ("": only if there is none) and returns the version
// written. A writer that lost a race gets an error wrapping ErrConflict
// instead of overwriting what the other wrote. On S3 it is a conditional
// PUT (If-Match, If-None-Match); in a directory the version is compared
// just before the rename, which stops a writer that read an older object
// but not two writing in the same instant.
func (l *Lake) PutMetaIf(ctx context.Context, name string, data []byte, version string) (string, error) {
	if err := checkMetaName(name); err != nil {
		return "", err
	}
	return l.be.putIf(ctx, userMetaDir+name, data, version)
}

// ListMeta returns the names of the metadata objects that start with
// prefix, sorted.
func (l *Lake) ListMeta(ctx context.Context, prefix string) ([]string, error) {
	dir := prefix
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i+1]
	} else {
		dir = ""
	}
	infos, err := l.be.list(ctx, userMetaDir+dir)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return nil, err
	}
	var out []string
	for _, in := range infos {
		name := strings.TrimPrefix(in.key, userMetaDir)
		if strings.HasPrefix(name, prefix) && !strings.HasPrefix(in.key[strings.LastIndex(in.key, "/")+1:], ".") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func checkMetaName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return fmt.Errorf("metadata name %q: want a relative path such as inventory/snapshot.json", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return fmt.Errorf("metadata name %q: empty, dot or hidden path segment", name)
		}
	}
	return nil
}
