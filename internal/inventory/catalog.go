package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	stdjson "encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CatalogName is the archive's catalog: the stored snapshots' names, times and
// content digests, one small object read with one GET instead of listing
// the snapshots (a LIST costs twelve GETs). Save rewrites it from a
// listing after every snapshot it stores, so a catalog that missed a
// snapshot (a crash between the two writes, two writers at once) is
// repaired by the next Save; a lake without one, or with one that cannot
// be read, is listed instead.
const CatalogName = metaPrefix + "catalog.json"

// catalogVersion is the version of the catalog document this package writes.
const catalogVersion = 1

// Stored is one snapshot of the archive.
type Stored struct {
	Name  string    `json:"name"`  // the object's name, MetaName(Taken)
	Taken time.Time `json:"taken"` // when the snapshot was taken
	// Digest is Digest of its content ("" for one listed but not yet
	// catalogued: it never equals a new snapshot).
	Digest string `json:"digest,omitempty"`
}

type catalogDoc struct {
	Version   int      `json:"version"`
	Snapshots []Stored `json:"snapshots"`
}

// Digest identifies a snapshot's content without the time it was taken
// (nor the time its declared rules were read): two syncs of a network that
// did not change have the same digest. ec2sync orders every list, so equal
// networks encode alike; maps are encoded with sorted keys.
func Digest(s *Snapshot) (string, error) {
	c := *s
	c.Taken = time.Time{}
	if s.Declared != nil {
		d := *s.Declared
		d.Read = time.Time{}
		c.Declared = &d
	}
	h := sha256.New()
	if err := stdjson.NewEncoder(h).Encode(&c); err != nil {
		return "", fmt.Errorf("digest of snapshot %s: %w", s.Taken.Format(time.RFC3339), err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func encodeCatalog(list []Stored) ([]byte, error) {
	b, err := stdjson.Marshal(catalogDoc{Version: catalogVersion, Snapshots: list})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", CatalogName, err)
	}
	return b, nil
}

// decodeCatalog reads a catalog, refusing one whose entries do not name
// snapshots (the caller lists the snapshots instead).
func decodeCatalog(data []byte) ([]Stored, error) {
	var doc catalogDoc
	if err := stdjson.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", CatalogName, err)
	}
	if doc.Version != catalogVersion {
		return nil, fmt.Errorf("%s: version %d, this flowq reads %d", CatalogName, doc.Version, catalogVersion)
	}
	for i, e := range doc.Snapshots {
		t, ok := timeOfName(e.Name)
		if !ok || !strings.HasPrefix(e.Name, metaPrefix) || !strings.HasSuffix(e.Name, metaSuffix) || !t.Equal(e.Taken) {
			return nil, fmt.Errorf("%s: snapshot %d: name %q does not match its time %s", CatalogName, i+1, e.Name, e.Taken.Format(time.RFC3339Nano))
		}
	}
	sortStored(doc.Snapshots)
	return doc.Snapshots, nil
}

// storedOf keeps the snapshots among names (a listing), with the digests
// known for them.
func storedOf(names []string, digests map[string]string) []Stored {
	var list []Stored
	for _, n := range names {
		if t, ok := timeOfName(n); ok && strings.HasPrefix(n, metaPrefix) && strings.HasSuffix(n, metaSuffix) {
			list = append(list, Stored{Name: n, Taken: t, Digest: digests[n]})
		}
	}
	sortStored(list)
	return list
}

func sortStored(list []Stored) {
	slices.SortStableFunc(list, func(x, y Stored) int { return x.Taken.Compare(y.Taken) })
}
