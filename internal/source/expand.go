package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/parse"
)

// Config says where inputs come from. The zero value reads local files and
// directories only.
type Config struct {
	// Filter keeps AWS-delivered objects of one account and/or region.
	Filter Filter
	// Skip is a local directory never walked into (the lake itself).
	Skip string
	// Stdin is what "-" reads.
	Stdin io.Reader
	// TempDir holds standard input while it is hashed ("": os.TempDir).
	TempDir string
	// S3 reads s3://bucket/prefix arguments; nil makes them an error.
	S3 S3API
	// CloudWatch and EC2 pull cloudwatch:LOG_GROUP arguments; nil makes
	// them an error. EC2 (DescribeFlowLogs) is asked for the log format
	// unless Format is set.
	CloudWatch CloudWatchAPI
	EC2        FlowLogsAPI
	// Since and Until bound a CloudWatch pull (Until zero: now).
	Since, Until time.Time
	// Format, when set, is the format of CloudWatch events.
	Format *parse.Format
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	dirFS func(dir string) fs.FS // tests: a directory tree that fails
}

// Schemes of arguments.
const (
	stdinArg         = "-"
	s3Scheme         = "s3://"
	cloudWatchScheme = "cloudwatch:"
)

// Expand turns arguments (paths, "-", s3://bucket/prefix,
// cloudwatch:LOG_GROUP) into inputs, in argument order, directories and
// prefixes sorted. A problem with one part of an argument (an unreadable
// subdirectory) is returned in problems and the rest is kept; an argument
// that cannot be read at all is an error.
func (c *Config) Expand(ctx context.Context, args []string) (inputs []*Input, problems []error, err error) {
	for _, arg := range args {
		switch {
		case arg == stdinArg:
			if c.Stdin == nil {
				return nil, nil, errors.New("-: no standard input")
			}
			stdin := c.Stdin
			inputs = append(inputs, &Input{Name: "<stdin>", Kind: KindStdin, spool: &spool{dir: c.TempDir},
				open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
		case strings.HasPrefix(arg, s3Scheme):
			ins, err := c.expandS3(ctx, arg)
			if err != nil {
				return nil, nil, err
			}
			inputs = append(inputs, ins...)
		case strings.HasPrefix(arg, cloudWatchScheme):
			ins, err := c.expandCloudWatch(ctx, strings.TrimPrefix(arg, cloudWatchScheme))
			if err != nil {
				return nil, nil, err
			}
			inputs = append(inputs, ins...)
		default:
			ins, probs, err := c.expandLocal(arg)
			if err != nil {
				return nil, nil, err
			}
			inputs = append(inputs, ins...)
			problems = append(problems, probs...)
		}
	}
	return inputs, problems, nil
}

// expandLocal returns the file, or the flow-log files under the directory.
func (c *Config) expandLocal(arg string) ([]*Input, []error, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, nil, err
	}
	if !st.IsDir() {
		in, ok := c.fileInput(arg, st.Size())
		if !ok {
			return nil, nil, fmt.Errorf("%s: not of account %q region %q", arg, c.Filter.Account, c.Filter.Region)
		}
		return []*Input{in}, nil, nil
	}
	skip := ""
	if c.Skip != "" {
		skip, _ = filepath.Abs(c.Skip)
	}
	fsys := os.DirFS(arg)
	if c.dirFS != nil {
		fsys = c.dirFS(arg)
	}
	var inputs []*Input
	var problems []error
	err = fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		p := filepath.Join(arg, filepath.FromSlash(rel))
		if err != nil {
			if rel == "." {
				return err
			}
			// An unreadable subdirectory: report it, walk on.
			problems = append(problems, fmt.Errorf("%s: %w", p, unwrapPath(err)))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if abs, _ := filepath.Abs(p); skip != "" && abs == skip {
				return fs.SkipDir // never ingest the lake into itself
			}
			if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, ".") || !flowLogName(name) || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", p, unwrapPath(err)))
			return nil
		}
		if in, ok := c.fileInput(p, info.Size()); ok {
			inputs = append(inputs, in)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Name < inputs[j].Name })
	return inputs, problems, nil
}

func (c *Config) fileInput(path string, size int64) (*Input, bool) {
	o, aws := ParseAWSName(filepath.Base(path))
	if !c.Filter.match(o, aws) {
		return nil, false
	}
	return &Input{Name: path, Kind: KindFile, Size: size, AWSName: o.Name,
		open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}, true
}

// unwrapPath drops the *fs.PathError's relative path (the caller names the
// full one).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
