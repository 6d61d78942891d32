package store

import (
	"errors"
	"testing"
)

func TestFindSource(t *testing.T) {
	srcs := []Source{
		{SourceInfo: SourceInfo{ID: "id-a", Name: "a.log"}},
		{SourceInfo: SourceInfo{ID: "id-b1", Name: "b.log"}},
		{SourceInfo: SourceInfo{ID: "id-b2", Name: "b.log"}},
		{SourceInfo: SourceInfo{ID: "a.log", Name: "other"}}, // an ID that is another's name wins
	}
	for _, tt := range []struct {
		arg, id string
		err     error
	}{
		{"id-a", "id-a", nil},
		{"id-b2", "id-b2", nil},
		{"a.log", "a.log", nil},
		{"other", "a.log", nil},
		{"b.log", "", ErrAmbiguousName},
		{"c.log", "", ErrNotExist},
	} {
		t.Run(tt.arg, func(t *testing.T) {
			s, err := FindSource(srcs, tt.arg)
			if s.ID != tt.id || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("FindSource(%q) = %q, %v; want %q, %v", tt.arg, s.ID, err, tt.id, tt.err)
			}
		})
	}
}
