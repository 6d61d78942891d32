package store

import "path/filepath"

// sessionsDir holds the private links of readers that keep the lake's
// files for long (lakedb's DuckDB sessions): no flow-log glob reads it,
// and no compaction deletes from it.
const sessionsDir = metaRoot + "sessions"

// SessionsDir returns the directory, on the lake's file system, under
// which a reader may hard-link the lake's files it reads for long, so a
// compaction that deletes them meanwhile does not take them away from it:
// <root>/_flowq/sessions of a local lake, "" for a remote one. The reader
// creates it, and removes what it put there.
func (l *Lake) SessionsDir() string {
	lb, ok := l.be.(*localBackend)
	if !ok {
		return ""
	}
	return filepath.Join(lb.root, filepath.FromSlash(sessionsDir))
}
