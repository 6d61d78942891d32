package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// backend stores objects under slash-separated keys relative to the root.
type backend interface {
	// put stores data under key, replacing any object there. With ifAbsent
	// an existing object is kept and put returns nil.
	put(ctx context.Context, key string, data []byte, ifAbsent bool) error
	get(ctx context.Context, key string) ([]byte, error)
	// getVersion is get with the object's version: S3's ETag, a hash of
	// the content locally.
	getVersion(ctx context.Context, key string) ([]byte, string, error)
	// putIf stores data under key only if the object there has version
	// match ("": only if there is none) and returns the new version;
	// otherwise it returns an error wrapping ErrConflict.
	putIf(ctx context.Context, key string, data []byte, match string) (string, error)
	// open returns a random-access reader over the object.
	open(ctx context.Context, key string) (readerAtSeekCloser, error)
	// openTail is open for readers of the end of an object of the given
	// size (a Parquet footer): a remote backend fetches only the tail.
	openTail(ctx context.Context, key string, size int64) (readerAtSeekCloser, error)
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
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(dst)+"."+hex.EncodeToString(rnd[:])+".tmp")
	var f *os.File
	var err error
	for try := 0; try < pruneTries; try++ { // a concurrent remove may prune the directory
		pruneBackoff(try)
		if err = mkdirAll(dir); err != nil {
			return "", err
		}
		if f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
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

// getVersion: a local object's version is a hash of its content.
func (b *localBackend) getVersion(ctx context.Context, key string) ([]byte, string, error) {
	data, err := b.get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	return data, contentVersion(data), nil
}

func contentVersion(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:16])
}

// putIf compares the version and renames into place: it stops a writer
// that read an older object, not two writers racing within the same
// instant (S3's conditional write does).
func (b *localBackend) putIf(ctx context.Context, key string, data []byte, match string) (string, error) {
	cur, err := b.get(ctx, key)
	switch {
	case errors.Is(err, ErrNotExist):
		if match != "" {
			return "", fmt.Errorf("%s: gone since it was read: %w", key, ErrConflict)
		}
	case err != nil:
		return "", err
	case match == "":
		return "", fmt.Errorf("%s: written since it was found missing: %w", key, ErrConflict)
	case contentVersion(cur) != match:
		return "", fmt.Errorf("%s: written since it was read: %w", key, ErrConflict)
	}
	if err := b.put(ctx, key, data, false); err != nil {
		return "", err
	}
	return contentVersion(data), nil
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
	if err := mkdirAll(filepath.Dir(dst)); err != nil {
		return err
	}
	err := os.Rename(b.path(from), dst)
	for try := 0; errors.Is(err, fs.ErrNotExist) && try < 3; try++ {
		if _, serr := os.Stat(b.path(from)); serr != nil {
			break // the source is gone, not the target directory
		}
		// A concurrent remove pruned the emptied target directory.
		if err = mkdirAll(filepath.Dir(dst)); err == nil {
			err = os.Rename(b.path(from), dst)
		}
	}
	if err == nil {
		b.pruneDirs(from)
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dst); serr == nil {
			return nil
		}
		return fmt.Errorf("move %s: %w", from, ErrNotExist)
	}
	return err
}

func (b *localBackend) openTail(ctx context.Context, key string, _ int64) (readerAtSeekCloser, error) {
	return b.open(ctx, key)
}

func (b *localBackend) list(_ context.Context, prefix string) ([]objInfo, error) {
	var out []objInfo
	start := b.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = b.path(prefix[:i])
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != b.root {
				return nil // removed while walking, or no such prefix
			}
			return err
		}
		if p == b.root {
			return nil
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") ||
				!strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		out = append(out, objInfo{key: key, size: info.Size(), modified: info.ModTime()})
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
		b.pruneDirs(k)
	}
	return errors.Join(errs...)
}

// mkdirAll is os.MkdirAll that survives a concurrent pruneDirs: another
// writer's cleanup may remove an emptied parent between MkdirAll creating it
// and creating the child in it, which fails with "no such file or directory",
// or between another writer's Mkdir of it and MkdirAll's check ("file exists").
// Each failure means the other writer got on, so it tries again, backing off
// after a few (eight tries in a row lost to a writer pruning in a loop on a
// loaded machine: TestPutBesidePrune under -race with the CPUs busy).
func mkdirAll(dir string) error {
	err := os.MkdirAll(dir, 0o755)
	for try := 0; (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist)) && try < pruneTries; try++ {
		pruneBackoff(try)
		err = os.MkdirAll(dir, 0o755) // ErrExist: made by another writer, then pruned again
	}
	return err
}

// pruneTries bounds the tries of a step that a concurrent pruneDirs undoes.
const pruneTries = 64

// pruneBackoff waits before try (from 0): not at all for the first few,
// then a little longer each time (about 0.1 s over all of pruneTries).
func pruneBackoff(try int) {
	if try >= 4 {
		time.Sleep(time.Duration(try) * 50 * time.Microsecond)
	}
}

// pruneDirs removes the directories of key that are now empty, up to the
// root (an S3 prefix has no directories to leave behind either).
func (b *localBackend) pruneDirs(key string) {
	for dir := path.Dir(key); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if os.Remove(b.path(dir)) != nil {
			return // not empty, or gone
		}
	}
}

// keyJoin joins a partition and a name into a key.
func keyJoin(p Partition, name string) string { return path.Join(p.Path(), name) }
