package source

import (
	"io"
	"os"
)

// spool keeps a read-once input (standard input) in a temporary file, so
// that it can be hashed and then parsed in bounded memory.
type spool struct {
	dir   string
	f     *os.File
	ready bool
}

func (s *spool) create() error {
	f, err := os.CreateTemp(s.dir, "flowq-stdin-*")
	if err != nil {
		return err
	}
	s.f = f
	return nil
}

func (s *spool) done() { s.ready = true }

func (s *spool) open() (io.ReadCloser, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return fileNoClose{s.f}, nil
}

func (s *spool) remove() error {
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	s.f.Close()
	s.f, s.ready = nil, false
	return os.Remove(name)
}

// fileNoClose is the spool's file as an input: random access for Parquet,
// closed only by remove.
type fileNoClose struct{ *os.File }

func (fileNoClose) Close() error { return nil }
