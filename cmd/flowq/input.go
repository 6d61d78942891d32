package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// openInput opens a flow-log file ("-" is stdin) and transparently
// decompresses gzip, recognised by its magic bytes rather than its name.
func openInput(a *app, path string) (io.ReadCloser, error) {
	var f io.ReadCloser
	if path == "-" {
		f = io.NopCloser(a.stdin)
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		f = fh
	}
	br := bufio.NewReaderSize(f, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &stackedCloser{Reader: zr, closers: []io.Closer{zr, f}}, nil
	}
	return &stackedCloser{Reader: br, closers: []io.Closer{f}}, nil
}

type stackedCloser struct {
	io.Reader
	closers []io.Closer
}

func (s *stackedCloser) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
