package store

import (
	"errors"
	"fmt"
)

// ErrAmbiguousName is returned by FindSource when several sources have the
// name asked for.
var ErrAmbiguousName = errors.New("name one by its ID")

// FindSource returns the source arg names among srcs: the one with that
// ID, else the only one with that name. No such source wraps ErrNotExist;
// a name several sources have wraps ErrAmbiguousName.
func FindSource(srcs []Source, arg string) (Source, error) {
	var named []Source
	for _, s := range srcs {
		if s.ID == arg {
			return s, nil
		}
		if s.Name == arg {
			named = append(named, s)
		}
	}
	switch len(named) {
	case 0:
		return Source{}, fmt.Errorf("no source %q in the lake: %w", arg, ErrNotExist)
	case 1:
		return named[0], nil
	}
	return Source{}, fmt.Errorf("%d sources are named %q: %w", len(named), arg, ErrAmbiguousName)
}
