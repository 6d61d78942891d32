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
	list  []Stored // sorted, oldest first
	cache map[string]*Index
	order []string // cache entries, least recently used first
	// loading holds the snapshots being read, closed when read.
	loading map[string]chan struct{}
}

// OpenArchive reads the snapshots' catalog in meta (or lists them). keep
// bounds the snapshots held indexed in memory (0 = 4).
func OpenArchive(ctx context.Context, meta MetaStore, keep int) (*Archive, error) {
	if keep <= 0 {
		keep = 4
	}
	a := &Archive{meta: meta, keep: keep, cache: map[string]*Index{}, loading: map[string]chan struct{}{}}
	if err := a.Refresh(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Refresh reads the snapshots' catalog again (after another process
// synced): one GET. A lake without a catalog (written before there was
// one) or with one that cannot be read is listed instead; the next Save
// writes the catalog.
func (a *Archive) Refresh(ctx context.Context) error {
	list, err := a.readCatalog(ctx)
	if err != nil {
		if list, err = a.listed(ctx); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = list
	return nil
}

func (a *Archive) readCatalog(ctx context.Context) ([]Stored, error) {
	data, err := a.meta.GetMeta(ctx, CatalogName)
	if err != nil {
		return nil, err
	}
	return decodeCatalog(data)
}

// listed lists the snapshots, keeping the digests known for them.
func (a *Archive) listed(ctx context.Context) ([]Stored, error) {
	names, err := a.meta.ListMeta(ctx, metaPrefix)
	if err != nil {
		return nil, fmt.Errorf("list inventory snapshots: %w", err)
	}
	a.mu.Lock()
	digests := make(map[string]string, len(a.list))
	for _, e := range a.list {
		digests[e.Name] = e.Digest
	}
	a.mu.Unlock()
	return storedOf(names, digests), nil
}

// Times returns when each stored snapshot was taken, oldest first.
func (a *Archive) Times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	ts := make([]time.Time, len(a.list))
	for i, e := range a.list {
		ts[i] = e.Taken
	}
	return ts
}

// Newest returns the newest stored snapshot; false when there is none.
func (a *Archive) Newest() (Stored, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.list) == 0 {
		return Stored{}, false
	}
	return a.list[len(a.list)-1], true
}

// Unchanged returns the newest stored snapshot and whether s has the same
// content (Digest): then storing s would add nothing, since the newest
// snapshot at or before any time after it already answers as s would.
func (a *Archive) Unchanged(s *Snapshot) (Stored, bool, error) {
	d, err := Digest(s)
	if err != nil {
		return Stored{}, false, err
	}
	newest, ok := a.Newest()
	return newest, ok && newest.Digest != "" && newest.Digest == d && !s.Taken.Before(newest.Taken), nil
}

// SaveChanged stores s unless it is Unchanged, and returns the snapshot
// in force from s's time (s's own entry, or the newest stored) and whether
// s was stored.
func (a *Archive) SaveChanged(ctx context.Context, s *Snapshot) (Stored, bool, error) {
	newest, same, err := a.Unchanged(s)
	if err != nil || same {
		return newest, false, err
	}
	st, err := a.Save(ctx, s)
	return st, err == nil, err
}

// Save stores s under a name from its time, then lists the snapshots and
// writes the catalog from the listing (so it also repairs a catalog that
// missed a snapshot). If the catalog cannot be written the snapshot is
// stored all the same and the error says so.
func (a *Archive) Save(ctx context.Context, s *Snapshot) (Stored, error) {
	data, err := Encode(s)
	if err != nil {
		return Stored{}, err
	}
	d, err := Digest(s)
	if err != nil {
		return Stored{}, err
	}
	st := Stored{Name: MetaName(s.Taken), Taken: s.Taken.UTC(), Digest: d}
	if err := a.meta.PutMeta(ctx, st.Name, data); err != nil {
		return Stored{}, fmt.Errorf("store snapshot %s: %w", st.Name, err)
	}
	a.mu.Lock()
	a.list = append(slices.DeleteFunc(a.list, func(e Stored) bool { return e.Name == st.Name }), st)
	sortStored(a.list)
	delete(a.cache, st.Name) // replaced: not the one held in memory
	a.order = slices.DeleteFunc(a.order, func(n string) bool { return n == st.Name })
	a.mu.Unlock()
	list, err := a.listed(ctx)
	if err == nil {
		var cat []byte
		if cat, err = encodeCatalog(list); err == nil {
			err = a.meta.PutMeta(ctx, CatalogName, cat)
		}
	}
	if err != nil {
		return st, fmt.Errorf("snapshot %s stored, its catalog %s not updated (the next save repairs it): %w", st.Name, CatalogName, err)
	}
	a.mu.Lock()
	a.list = list
	a.mu.Unlock()
	return st, nil
}

// AsOf returns the snapshot in force at t: the newest taken at or before t,
// or, for a time before the first snapshot, the first (the closest
// configuration known). The zero time means the newest.
func (a *Archive) AsOf(ctx context.Context, t time.Time) (*Index, error) {
	a.mu.Lock()
	if len(a.list) == 0 {
		a.mu.Unlock()
		return nil, ErrNoSnapshot
	}
	i := len(a.list) - 1
	if !t.IsZero() {
		// First snapshot strictly after t, minus one.
		i = max(0, sortSearchAfter(a.list, t)-1)
	}
	name := a.list[i].Name
	for {
		if x, ok := a.cache[name]; ok {
			a.touch(name)
			a.mu.Unlock()
			return x, nil
		}
		wait, ok := a.loading[name]
		if !ok {
			break
		}
		// Another caller is reading it: one read, not one each.
		a.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		a.mu.Lock()
	}
	done := make(chan struct{})
	a.loading[name] = done
	a.mu.Unlock()

	x, err := a.load(ctx, name)
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.loading, name)
	close(done)
	if err != nil {
		return nil, err
	}
	a.cache[name] = x
	a.order = append(a.order, name)
	for len(a.order) > a.keep {
		delete(a.cache, a.order[0])
		a.order = a.order[1:]
	}
	return x, nil
}

func (a *Archive) load(ctx context.Context, name string) (*Index, error) {
	data, err := a.meta.GetMeta(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", name, err)
	}
	s, err := Decode(name, data)
	if err != nil {
		return nil, err
	}
	return NewIndex(s), nil
}

func (a *Archive) touch(name string) {
	if i := slices.Index(a.order, name); i >= 0 {
		a.order = append(append(a.order[:i:i], a.order[i+1:]...), name)
	}
}

// sortSearchAfter returns the index of the first time strictly after t.
func sortSearchAfter(list []Stored, t time.Time) int {
	lo, hi := 0, len(list)
	for lo < hi {
		m := (lo + hi) / 2
		if list[m].Taken.After(t) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}
