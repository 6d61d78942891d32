package source

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/parse"
)

// ReadPath reads every flow-log input path names (a file, a directory
// walked for them, or "-" for Stdin) in turn, passing their records to fn,
// and returns the sum of their parser counters. It stops at the first
// input that fails.
func (c *Config) ReadPath(ctx context.Context, path string, opts ReadOptions, fn func(arrow.RecordBatch) error) (parse.Stats, error) {
	ins, _, err := c.Expand(ctx, []string{path})
	if err != nil {
		return parse.Stats{}, err
	}
	var total parse.Stats
	for _, in := range ins {
		st, err := in.Read(ctx, opts, fn)
		total.Add(st.Stats)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// ReadText returns the flow-log text of the one file path names (or of
// Stdin for "-"), decompressed when it is gzip.
func (c *Config) ReadText(ctx context.Context, path string) ([]byte, error) {
	ins, _, err := c.Expand(ctx, []string{path})
	if err != nil {
		return nil, err
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("%s: not one flow-log file", path)
	}
	in, err := ins[0].OpenText(ctx)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}
