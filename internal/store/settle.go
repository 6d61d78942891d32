package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// settle finishes what an interrupted compaction (or source removal) left:
// files a live merged file replaced are deleted, with their manifests;
// manifests still beside their merged file move under _flowq/; manifests
// without a merged file are deleted once old. It returns the live files
// and the manifests of the live merged files.
func (l *Lake) settle(ctx context.Context, ps *partScan, res *CompactResult) ([]Object, map[string]manifest, error) {
	ms, err := l.liveManifests(ctx, ps)
	if err != nil {
		return nil, nil, err
	}
	replaced := map[string]bool{}
	for _, m := range ms {
		for _, n := range m.replaced() {
			replaced[n] = true
		}
	}
	var del []string
	var live []Object
	for _, o := range ps.files {
		if !replaced[o.Name()] {
			live = append(live, o)
			continue
		}
		del = append(del, o.Key)
		if k, ok := ps.manifests[o.Name()]; ok {
			del = append(del, k)
		}
	}
	present := map[string]bool{}
	for _, o := range live {
		present[o.Name()] = true
	}
	for merged, key := range ps.manifests {
		switch {
		case !present[merged] && !replaced[merged] && time.Since(ps.modified[key]) > orphanAge:
			del = append(del, key)
		case present[merged] && !strings.HasPrefix(key, manifestDir):
			// A manifest of an older flowq, inside the partition: move it out.
			data, err := json.Marshal(ms[merged])
			if err != nil {
				return nil, nil, err
			}
			if err := l.be.put(ctx, manifestKey(ps.part, merged), data, false); err != nil {
				return nil, nil, err
			}
			ps.manifests[merged] = manifestKey(ps.part, merged)
			del = append(del, key)
		}
	}
	if len(del) > 0 {
		if err := l.be.remove(ctx, del); err != nil {
			return nil, nil, err
		}
		res.Removed += len(del)
	}
	return live, ms, nil
}

func manifestKey(p Partition, merged string) string {
	return manifestDir + keyJoin(p, strings.TrimSuffix(merged, ".parquet")+manifestSuffix)
}

// pruneMarkers deletes the markers older than ttl.
func (l *Lake) pruneMarkers(ctx context.Context, ttl time.Duration, res *CompactResult) error {
	infos, err := l.be.list(ctx, markerDir)
	if err != nil && !errors.Is(err, ErrNotExist) {
		return err
	}
	var old []string
	for _, in := range infos {
		if time.Since(in.modified) > ttl {
			old = append(old, in.key)
		}
	}
	res.Removed += len(old)
	return l.be.remove(ctx, old)
}
