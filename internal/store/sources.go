package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// sourceRecord is _flowq/sources/<sha of ID>.json.
type sourceRecord struct {
	Source
	// State is stateCommitting from the first step of Commit until every
	// staged file is in its partition (and a replaced version removed).
	State    string       `json:"state"`
	Tx       string       `json:"tx"`
	Files    []sourceFile `json:"files"`
	Replaces []string     `json:"replaces,omitempty"` // file names of the version replaced
}

type sourceFile struct {
	Staged string `json:"staged"` // key under _flowq/staging/
	Key    string `json:"key"`    // key in its partition
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes,omitempty"` // the Parquet file's size
}

const (
	stateCommitting = "committing"
	stateCommitted  = "committed"
)

// staleAge is how old staged chunks without a commit must be before they
// are deleted as left by a crash.
const staleAge = 6 * time.Hour

func (r *sourceRecord) fileNames() []string {
	out := make([]string, len(r.Files))
	for i, f := range r.Files {
		out[i] = path.Base(f.Key)
	}
	return out
}

func (l *Lake) sourceRecord(ctx context.Context, id string) (*sourceRecord, error) {
	data, err := l.be.get(ctx, sourceKey(id))
	if err != nil {
		return nil, err
	}
	var r sourceRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("source record %s: %w", sourceKey(id), err)
	}
	return &r, nil
}

// putSourceRecord stores r; with exclusive, only if no record of its ID
// exists (else an error wrapping ErrSourceExists).
func (l *Lake) putSourceRecord(ctx context.Context, r *sourceRecord, exclusive bool) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	key := sourceKey(r.ID)
	if !exclusive {
		return l.be.put(ctx, key, data, false)
	}
	if err := l.be.create(ctx, key, data); errors.Is(err, errExists) {
		return fmt.Errorf("%s (%s): %w", r.Name, r.ID, ErrSourceExists)
	} else if err != nil {
		return err
	}
	return nil
}

// finishCommit moves a committing source's staged files into their
// partitions, removes the version it replaces and marks it committed.
// Every step can be done again: an interrupted Commit is finished by the
// next Begin of the source, Sources or Compact.
func (l *Lake) finishCommit(ctx context.Context, r *sourceRecord) error {
	for _, f := range r.Files {
		if err := l.be.move(ctx, f.Staged, f.Key); err != nil {
			return fmt.Errorf("commit %s: %w", r.Name, err)
		}
	}
	if len(r.Replaces) > 0 {
		names := map[string]bool{}
		for _, n := range r.Replaces {
			names[n] = true
		}
		if _, err := l.removeParts(ctx, func(p part) bool { return names[p.Name] }); err != nil {
			return fmt.Errorf("commit %s: remove the version replaced: %w", r.Name, err)
		}
		r.Replaces = nil
	}
	r.State = stateCommitted
	if err := l.putSourceRecord(ctx, r, false); err != nil {
		return err
	}
	return l.be.remove(ctx, []string{pendingKey(r.ID)})
}

// pendingKey marks a source whose Commit has begun, so that recovery finds
// interrupted commits without reading every source record.
func pendingKey(id string) string { return pendingDir + path.Base(sourceKey(id)) }

// records reads every source record, finishing interrupted commits.
func (l *Lake) records(ctx context.Context) ([]*sourceRecord, error) {
	infos, err := l.be.list(ctx, sourcesDir)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return nil, err
	}
	var out []*sourceRecord
	for _, in := range infos {
		if !strings.HasSuffix(in.key, ".json") {
			continue
		}
		data, err := l.be.get(ctx, in.key)
		if errors.Is(err, ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r := new(sourceRecord)
		if err := json.Unmarshal(data, r); err != nil {
			return nil, fmt.Errorf("source record %s: %w", in.key, err)
		}
		if r.State == stateCommitting {
			if err := l.finishCommit(ctx, r); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// recoverSources finishes interrupted commits and deletes staged chunks
// that no commit will use (an Abort that did not run: a crash).
func (l *Lake) recoverSources(ctx context.Context) error {
	pending, err := l.be.list(ctx, pendingDir)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return err
	}
	for _, in := range pending {
		key := sourcesDir + path.Base(in.key)
		data, err := l.be.get(ctx, key)
		if err != nil && !errors.Is(err, ErrNotExist) {
			return err
		}
		r := new(sourceRecord)
		if err == nil {
			if err := json.Unmarshal(data, r); err != nil {
				return fmt.Errorf("source record %s: %w", key, err)
			}
		}
		switch {
		case r.State == stateCommitting:
			if err := l.finishCommit(ctx, r); err != nil {
				return err
			}
		case time.Since(in.modified) > orphanAge: // a Commit that failed before its record
			if err := l.be.remove(ctx, []string{in.key}); err != nil {
				return err
			}
		}
	}
	infos, err := l.be.list(ctx, stagingDir)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return err
	}
	var stale []string
	for _, in := range infos {
		if time.Since(in.modified) > staleAge {
			stale = append(stale, in.key)
		}
	}
	return l.be.remove(ctx, stale)
}

// Sources lists what the lake holds, by source: the committed sources, and
// the batches Write stored (the Lambda's), from the provenance in their
// files' footers and in compaction manifests. Sorted by ingestion time.
func (l *Lake) Sources(ctx context.Context) ([]Source, error) {
	recs, err := l.records(ctx)
	if err != nil {
		return nil, err
	}
	var out []Source
	for _, r := range recs {
		out = append(out, r.Source)
	}
	batches := map[string]*Source{}
	// Files of committed sources are accounted for by their records.
	skip := func(o Object) bool { return strings.HasPrefix(o.Name(), sourcePrefix) }
	err = l.eachPart(ctx, skip, func(_ Object, p part) {
		info := SourceInfo{ID: p.Source, Name: p.Source, Kind: KindBatch}
		switch {
		case p.Kind == "" && p.Source == "":
			// A file written before flowq kept provenance.
			info = SourceInfo{ID: "", Name: "(records stored before flowq kept their source)", Kind: "unknown"}
		case p.Kind != KindBatch:
			return
		}
		s := batches[info.ID]
		if s == nil {
			s = &Source{SourceInfo: info}
			batches[info.ID] = s
		}
		s.Records += p.Rows
		if f := time.Unix(p.First, 0).UTC(); p.First != 0 && (s.First.IsZero() || f.Before(s.First)) {
			s.First = f
		}
		if t := time.Unix(p.Last, 0).UTC(); t.After(s.Last) {
			s.Last = t
		}
		if t := time.Unix(p.Ingested, 0).UTC(); t.After(s.Ingested) {
			s.Ingested = t
		}
	})
	if err != nil {
		return nil, err
	}
	for _, s := range batches {
		out = append(out, *s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Ingested.Equal(out[j].Ingested) {
			return out[i].Ingested.Before(out[j].Ingested)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// eachPart calls fn with every part of every live file but those skip
// selects: from the manifest of a merged file, from the footer of the
// others.
func (l *Lake) eachPart(ctx context.Context, skip func(Object) bool, fn func(Object, part)) error {
	parts, err := l.scan(ctx, nil)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	for _, ps := range parts {
		ms, err := l.liveManifests(ctx, ps)
		if err != nil {
			return err
		}
		covered := map[string]bool{}
		for _, m := range ms {
			for _, n := range m.replaced() {
				covered[n] = true
			}
		}
		for _, o := range ps.files {
			if covered[o.Name()] || skip != nil && skip(o) {
				continue
			}
			var pp []part
			if m, ok := ms[o.Name()]; ok && len(m.Parts) > 0 {
				pp = m.Parts
			} else if pp, err = l.readObjectParts(ctx, o, nil); err != nil {
				if errors.Is(err, ErrNotExist) {
					continue
				}
				return err
			}
			for _, p := range pp {
				fn(o, p)
			}
		}
	}
	return nil
}

// RemoveSource removes every record of one source (a committed source, or
// a batch Write stored, by its batch id), also from merged files that hold
// other sources' records too, and returns the source with Records set to
// the number of records removed. An unknown ID is an error wrapping
// ErrNotExist. If it is interrupted, flowq's readers still count every
// remaining record once; run it again to finish. Do not run it while
// Compact runs.
func (l *Lake) RemoveSource(ctx context.Context, id string) (Source, error) {
	r, err := l.sourceRecord(ctx, id)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return Source{}, err
	}
	match := func(p part) bool { return p.Kind == KindBatch && p.Source == id }
	src := Source{SourceInfo: SourceInfo{ID: id, Name: id, Kind: KindBatch}}
	if r != nil {
		if r.State == stateCommitting {
			if err := l.finishCommit(ctx, r); err != nil {
				return Source{}, err
			}
		}
		names := map[string]bool{}
		for _, n := range r.fileNames() {
			names[n] = true
		}
		match = func(p part) bool { return names[p.Name] }
		src = r.Source
	}
	n, err := l.removeParts(ctx, match)
	if err != nil {
		return Source{}, fmt.Errorf("remove source %s: %w", id, err)
	}
	if r == nil && n == 0 {
		return Source{}, fmt.Errorf("no source %q in the lake: %w", id, ErrNotExist)
	}
	if r != nil {
		if err := l.be.remove(ctx, []string{sourceKey(id)}); err != nil {
			return Source{}, err
		}
	}
	src.Records = n
	return src, nil
}

// removeParts removes the rows of every part that match selects: a file
// all of whose parts match is deleted; a merged file with some is written
// again without them (by merge, so a crash leaves every row counted once
// by flowq, and the next Compact finishes the job). It returns the number
// of rows removed.
func (l *Lake) removeParts(ctx context.Context, match func(part) bool) (int64, error) {
	type hit struct {
		o    Object
		drop map[string]bool
		rows int64
		all  bool
	}
	var hits []*hit
	byKey := map[string]*hit{}
	err := l.eachPart(ctx, nil, func(o Object, p part) {
		h := byKey[o.Key]
		if h == nil {
			h = &hit{o: o, drop: map[string]bool{}, all: true}
			byKey[o.Key] = h
			hits = append(hits, h)
		}
		if match(p) {
			h.drop[p.Name] = true
			h.rows += p.Rows
		} else {
			h.all = false
		}
	})
	if err != nil {
		return 0, err
	}
	var removed int64
	var del []string
	parts, err := l.scan(ctx, nil)
	if err != nil {
		return 0, err
	}
	manifests := map[Partition]map[string]string{}
	for _, ps := range parts {
		manifests[ps.part] = ps.manifests
	}
	for _, h := range hits {
		switch {
		case len(h.drop) == 0:
			continue
		case h.all && !h.o.Compacted:
			del = append(del, h.o.Key)
		default:
			sc, err := l.schemaOf(ctx, h.o.Key)
			if err != nil {
				return removed, err
			}
			var res CompactResult
			if err := l.merge(ctx, h.o.Partition, sc, []Object{h.o}, h.drop, manifests[h.o.Partition], l.removeHook, &res); err != nil {
				return removed, err
			}
		}
		removed += h.rows
	}
	return removed, l.be.remove(ctx, del)
}
