package demo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Marker is the file flowq demo keeps at the top of a lake it created. It
// proves the directory is the demo's and lists every file the demo left
// there (path and size), so --fresh can tell the demo's data from anything
// written since.
const Marker = ".flowq-demo"

const markerHeader = "# written by flowq demo: this lake is the demo's; the files it wrote follow (path size)"

// ErrNotDemoLake is wrapped by the errors of prepare for a directory the
// demo did not create or that holds data the demo did not write.
var ErrNotDemoLake = errors.New("not a lake flowq demo created")

// prepare makes dir ready for the demo: an absent or empty directory is
// created and marked; a marked one is used (with fresh: emptied, when it
// holds nothing but what the demo wrote); anything else is refused.
func prepare(dir string, fresh bool, now time.Time) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0:
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return writeMarker(dir, now)
	case err != nil:
		return err
	}
	wrote, err := readMarker(dir)
	if err != nil {
		return err
	}
	if !fresh {
		return nil
	}
	foreign, err := foreignFiles(dir, wrote)
	if err != nil {
		return err
	}
	if len(foreign) > 0 {
		return fmt.Errorf("--fresh: %s holds %d file(s) flowq demo did not write, such as %s: %w; not removing anything",
			dir, len(foreign), foreign[0], ErrNotDemoLake)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeMarker(dir, now)
}

// readMarker returns the files the marker lists, or an error wrapping
// ErrNotDemoLake when dir has no marker.
func readMarker(dir string) (map[string]int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, Marker))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is not empty and has no %s file: %w; the demo writes only to a lake of its own (choose another --lake, or leave it out for ./flowq-demo)",
			dir, Marker, ErrNotDemoLake)
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) == 0 || lines[0] != markerHeader {
		return nil, fmt.Errorf("%s: not a flowq demo marker: %w", filepath.Join(dir, Marker), ErrNotDemoLake)
	}
	out := map[string]int64{}
	for _, l := range lines[1:] {
		i := strings.LastIndexByte(l, ' ')
		if l == "" || strings.HasPrefix(l, "#") || i < 0 {
			continue
		}
		n, err := strconv.ParseInt(l[i+1:], 10, 64)
		if err != nil {
			continue
		}
		out[l[:i]] = n
	}
	return out, nil
}

// writeMarker records every file now under dir as the demo's.
func writeMarker(dir string, now time.Time) error {
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(markerHeader + "\n# " + now.UTC().Format(time.RFC3339) + "\n")
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, files[k])
	}
	tmp := filepath.Join(dir, Marker+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, Marker))
}

// foreignFiles lists the files under dir that the marker does not name
// with their current size, sorted.
func foreignFiles(dir string, wrote map[string]int64) ([]string, error) {
	files, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for p, n := range files {
		if m, ok := wrote[p]; !ok || m != n {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// listFiles returns every regular file under dir but the marker, by
// slash-separated relative path, with its size.
func listFiles(dir string) (map[string]int64, error) {
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == Marker || rel == Marker+".tmp" {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[rel] = fi.Size()
		return nil
	})
	return out, err
}
