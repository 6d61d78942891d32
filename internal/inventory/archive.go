package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// MetaStore keeps named objects beside the lake, outside the flow
// partitions (*store.Lake satisfies it).
type MetaStore interface {
	PutMeta(ctx context.Context, name string, data []byte) error
	GetMeta(ctx context.Context, name string) ([]byte, error)
	ListMeta(ctx context.Context, prefix string) ([]string, error)
}

// ErrNoSnapshot is returned when the lake holds no inventory snapshot.
var ErrNoSnapshot = errors.New("no inventory snapshot in the lake (run flowq inventory sync)")

// Snapshots live under this prefix, one object per sync, named by time.
const (
	metaPrefix = "inventory/"
	metaSuffix = ".json.gz"
	nameLayout = "20060102T150405.000000000Z"
)

// MetaName returns the object name of a snapshot taken at t.
func MetaName(t time.Time) string {
	return metaPrefix + t.UTC().Format(nameLayout) + metaSuffix
}

func timeOfName(name string) (time.Time, bool) {
	base := strings.TrimSuffix(name[strings.LastIndex(name, "/")+1:], metaSuffix)
	t, err := time.Parse(nameLayout, base)
	return t, err == nil
}

// Encode writes s as gzipped JSON.
func Encode(s *Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(s); err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode reads a snapshot written by Encode (gzipped or plain JSON); name
// is used in errors.
func Decode(name string, data []byte) (*Snapshot, error) {
	var r io.Reader = bytes.NewReader(data)
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", name, err)
		}
		defer zr.Close()
		r = zr
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", name, err)
	}
	var s Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		// encoding/json says what is wrong more plainly.
		if serr := stdjson.Unmarshal(raw, &s); serr != nil {
			err = serr
		}
		return nil, fmt.Errorf("snapshot %s: %w", name, err)
	}
	if s.Version < 1 || s.Version > SnapshotVersion {
		return nil, fmt.Errorf("snapshot %s: version %d, this flowq reads 1..%d", name, s.Version, SnapshotVersion)
	}
	return &s, nil
}

// Archive is the lake's sequence of snapshots. AsOf picks the one in force
// at a time and keeps a bounded number of them indexed in memory.
type Archive struct {
	meta  MetaStore
	keep  int
	mu    sync.Mutex
	names []string    // sorted, oldest first
	times []time.Time // of names
	cache map[string]*Index
	order []string // cache entries, least recently used first
}

// OpenArchive lists the snapshots in meta. keep bounds the snapshots held
// indexed in memory (0 = 4).
func OpenArchive(ctx context.Context, meta MetaStore, keep int) (*Archive, error) {
	if keep <= 0 {
		keep = 4
	}
	a := &Archive{meta: meta, keep: keep, cache: map[string]*Index{}}
	if err := a.Refresh(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Refresh lists the snapshots again (after another process synced).
func (a *Archive) Refresh(ctx context.Context) error {
	names, err := a.meta.ListMeta(ctx, metaPrefix)
	if err != nil {
		return fmt.Errorf("list inventory snapshots: %w", err)
	}
	type nt struct {
		name string
		t    time.Time
	}
	var list []nt
	for _, n := range names {
		if t, ok := timeOfName(n); ok && strings.HasSuffix(n, metaSuffix) {
			list = append(list, nt{n, t})
		}
	}
	slices.SortFunc(list, func(x, y nt) int { return x.t.Compare(y.t) })
	a.mu.Lock()
	defer a.mu.Unlock()
	a.names, a.times = a.names[:0], a.times[:0]
	for _, e := range list {
		a.names = append(a.names, e.name)
		a.times = append(a.times, e.t)
	}
	return nil
}

// Times returns when each stored snapshot was taken, oldest first.
func (a *Archive) Times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.times)
}

// Save stores s under a name from its time and adds it to the archive.
func (a *Archive) Save(ctx context.Context, s *Snapshot) (string, error) {
	data, err := Encode(s)
	if err != nil {
		return "", err
	}
	name := MetaName(s.Taken)
	if err := a.meta.PutMeta(ctx, name, data); err != nil {
		return "", fmt.Errorf("store snapshot %s: %w", name, err)
	}
	return name, a.Refresh(ctx)
}

// AsOf returns the snapshot in force at t: the newest taken at or before t,
// or, for a time before the first snapshot, the first (the closest
// configuration known). The zero time means the newest.
func (a *Archive) AsOf(ctx context.Context, t time.Time) (*Index, error) {
	a.mu.Lock()
	if len(a.names) == 0 {
		a.mu.Unlock()
		return nil, ErrNoSnapshot
	}
	i := len(a.names) - 1
	if !t.IsZero() {
		// First snapshot strictly after t, minus one.
		i = max(0, sortSearchAfter(a.times, t)-1)
	}
	name := a.names[i]
	if x, ok := a.cache[name]; ok {
		a.touch(name)
		a.mu.Unlock()
		return x, nil
	}
	a.mu.Unlock()

	data, err := a.meta.GetMeta(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", name, err)
	}
	s, err := Decode(name, data)
	if err != nil {
		return nil, err
	}
	x := NewIndex(s)
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, ok := a.cache[name]; ok {
		return prev, nil
	}
	a.cache[name] = x
	a.order = append(a.order, name)
	for len(a.order) > a.keep {
		delete(a.cache, a.order[0])
		a.order = a.order[1:]
	}
	return x, nil
}

func (a *Archive) touch(name string) {
	if i := slices.Index(a.order, name); i >= 0 {
		a.order = append(append(a.order[:i:i], a.order[i+1:]...), name)
	}
}

// sortSearchAfter returns the index of the first time strictly after t.
func sortSearchAfter(ts []time.Time, t time.Time) int {
	lo, hi := 0, len(ts)
	for lo < hi {
		m := (lo + hi) / 2
		if ts[m].After(t) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}
