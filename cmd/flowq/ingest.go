package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

// ingestChunkRows is the most records one lake Write gets; a bigger file is
// written in several deterministic chunks (batch id + "#N").
const ingestChunkRows = 1 << 20

// maxReportedLines bounds the per-line errors printed per run.
const maxReportedLines = 1000

// ingestStats are the totals flowq ingest reports.
type ingestStats struct {
	Files    int
	Failed   int // files that could not be read
	Records  int64
	BadLines int64
	NoData   int64
	SkipData int64
	BytesIn  int64 // bytes read from the inputs (compressed as stored)
	Text     int64 // flow-log text bytes parsed (after gunzip)
	BytesOut int64 // Parquet bytes written
	Objects  int
}

func newIngestCmd(a *app) *cobra.Command {
	var format string
	var batch int
	cmd := &cobra.Command{
		Use:   "ingest [--format FMT] PATH...",
		Short: "Store flow-log files in the lake as Parquet",
		Long: `Parse flow-log files and store every record in the lake (--lake, default
./flowlake or $FLOWQ_LAKE; created if missing) as zstd Parquet, partitioned by
the hour of each record's start: year=YYYY/month=MM/day=DD/hour=HH/.

PATH may be a file or a directory. Directories are walked for the files AWS
delivers to S3, in either layout:
  AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/[{HH}/]
  AWSLogs/aws-account-id=.../aws-service=vpcflowlogs/aws-region=.../year=.../
Text files (.log, .log.gz, .txt, .gz; gzip is detected by content) are read
with their header line, or --format when they have none (default: AWS's
version 2 format). AWS-native Parquet (.parquet, .log.parquet) is stored with
its columns as they are.

Objects are named from the file's path and content hash, so ingesting the
same file again replaces its records instead of duplicating them.

Rejected lines are reported on stderr as FILE:LINE: reason; the rest of the
file is still stored. Exit status 1 when any line was rejected or a file
could not be read.`,
		Example: `  flowq ingest ./AWSLogs
  flowq --lake s3://my-bucket/flowlake ingest 123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T0800Z_1a2b3c4d.log.gz
  flowq ingest --format '${version} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action} ${log-status}' custom.log`,
		Args: argsUsage(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			fm, err := parse.ParseFormat(format)
			if err != nil {
				return usageError("--format: %v", err)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			files, total, err := ingestInputs(args, a.lake)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return usageError("no flow-log files (.log, .log.gz, .gz, .txt, .parquet) under %s", strings.Join(args, ", "))
			}
			lake, err := store.Open(ctx, a.lake, store.Options{Create: true})
			if err != nil {
				return err
			}
			in := &ingester{a: a, lake: lake, fm: fm, batch: batch}
			if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				in.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(a.stderr), progressbar.OptionShowBytes(true),
					progressbar.OptionSetDescription("ingest"), progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
			}
			t0 := time.Now()
			for _, path := range files {
				if err := in.file(ctx, path); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					fmt.Fprintf(a.stderr, "flowq: %v\n", err)
					in.st.Failed++
				}
			}
			if in.bar != nil {
				in.bar.Finish()
			}
			in.summary(time.Since(t0))
			if in.st.BadLines > 0 || in.st.Failed > 0 {
				return errRejected
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "flow-log format of files without a header line, in AWS ${field} syntax (default: AWS's version 2 format)")
	cmd.Flags().IntVar(&batch, "batch-size", parse.DefaultBatchSize, "records per Arrow batch")
	return cmd
}

// ingestInputs expands the arguments into files (directories are walked for
// flow-log files, skipping hidden ones and the lake itself) and sums their
// sizes.
func ingestInputs(args []string, lake string) ([]string, int64, error) {
	var files []string
	var total int64
	lakeAbs, _ := filepath.Abs(strings.TrimPrefix(lake, "file://"))
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			return nil, 0, usageError("%v", err)
		}
		if !st.IsDir() {
			files = append(files, arg)
			total += st.Size()
			continue
		}
		var found []string
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() && !strings.Contains(lake, "://") {
				if abs, _ := filepath.Abs(p); abs == lakeAbs {
					return filepath.SkipDir // never ingest the lake into itself
				}
			}
			if strings.HasPrefix(name, ".") && p != arg {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !isFlowLogName(name) {
				return nil
			}
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
			found = append(found, p)
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, total, nil
}

func isFlowLogName(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".log", ".log.gz", ".gz", ".txt", ".parquet"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// ingester stores files one after another; parsing of the next chunk
// overlaps with writing the previous one.
type ingester struct {
	a        *app
	lake     *store.Lake
	fm       *parse.Format
	batch    int
	bar      *progressbar.ProgressBar
	st       ingestStats
	reported int
}

// file ingests one file.
func (in *ingester) file(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	in.st.Files++
	in.st.BytesIn += int64(len(data))
	if in.bar != nil {
		defer in.bar.Add64(int64(len(data)))
	}
	sum := sha256.Sum256(data)
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	id := abs + "@" + hex.EncodeToString(sum[:16])

	w := in.startWriter(ctx, id)
	var werr error
	if bytes.HasPrefix(data, []byte("PAR1")) {
		werr = store.ReadParquet(ctx, bytes.NewReader(data), nil, func(rec arrow.RecordBatch) error {
			in.st.Records += rec.NumRows()
			if i := rec.Schema().FieldIndices(parse.ColLogStatus); len(i) > 0 {
				countStatus(rec.Column(i[0]), &in.st)
			}
			return w.add(rec)
		})
		if werr != nil {
			werr = fmt.Errorf("%s: %w", path, werr)
		}
	} else {
		werr = in.text(path, data, w)
	}
	if err := w.close(); err != nil && werr == nil {
		werr = err
	}
	return werr
}

// text parses flow-log text (plain or gzip) into w.
func (in *ingester) text(path string, data []byte, w *chunkWriter) error {
	opts := parse.Options{Format: in.fm, BatchSize: in.batch, Name: path,
		OnBadLine: func(e *parse.LineError) {
			in.reported++
			switch {
			case in.reported <= maxReportedLines:
				fmt.Fprintln(in.a.stderr, e)
			case in.reported == maxReportedLines+1:
				fmt.Fprintf(in.a.stderr, "flowq: more than %d rejected lines; counting the rest silently\n", maxReportedLines)
			}
		},
		OnWarning: func(e *parse.LineError) {
			fmt.Fprintf(in.a.stderr, "%s:%d: warning: field %s: %s\n", e.File, e.Line, e.Field, e.Detail)
		}}
	var r *parse.Reader
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = parse.NewReader(zr, opts)
	} else {
		r = parse.NewBytesReader(data, opts)
	}
	defer r.Release()
	var err error
	for r.Next() {
		if err = w.add(r.RecordBatch()); err != nil {
			break
		}
	}
	st := r.Stats()
	in.st.Records += st.Records
	in.st.BadLines += st.BadLines
	in.st.NoData += st.NoData
	in.st.SkipData += st.SkipData
	in.st.Text += st.Bytes
	if err != nil {
		return err
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func countStatus(col arrow.Array, st *ingestStats) {
	type stringer interface{ ValueStr(int) string }
	s, ok := col.(stringer)
	if !ok {
		return
	}
	for i := 0; i < col.Len(); i++ {
		if col.IsNull(i) {
			continue
		}
		switch s.ValueStr(i) {
		case parse.StatusNoData:
			st.NoData++
		case parse.StatusSkipData:
			st.SkipData++
		}
	}
}

// chunkWriter gathers batches into chunks of up to ingestChunkRows and
// writes each chunk to the lake in a goroutine of its own, one at a time.
type chunkWriter struct {
	ctx  context.Context
	in   *ingester
	id   string
	recs []arrow.RecordBatch
	rows int64
	ch   chan []arrow.RecordBatch
	done chan error
}

func (in *ingester) startWriter(ctx context.Context, id string) *chunkWriter {
	w := &chunkWriter{ctx: ctx, in: in, id: id, ch: make(chan []arrow.RecordBatch), done: make(chan error, 1)}
	go func() {
		var first error
		n := 0
		for recs := range w.ch {
			if first == nil {
				chunkID := w.id
				if n > 0 {
					chunkID = fmt.Sprintf("%s#%d", w.id, n)
				}
				res, err := in.lake.Write(ctx, chunkID, recs)
				if err != nil {
					first = err
				}
				in.st.BytesOut += res.Bytes
				in.st.Objects += len(res.Objects)
			}
			n++
			for _, r := range recs {
				r.Release()
			}
		}
		w.done <- first
	}()
	return w
}

// add keeps rec (retaining it) and hands a full chunk to the writer.
func (w *chunkWriter) add(rec arrow.RecordBatch) error {
	rec.Retain()
	w.recs = append(w.recs, rec)
	w.rows += rec.NumRows()
	if w.rows >= ingestChunkRows {
		return w.flush()
	}
	return nil
}

func (w *chunkWriter) flush() error {
	if len(w.recs) == 0 {
		return nil
	}
	select {
	case w.ch <- w.recs:
	case <-w.ctx.Done():
		for _, r := range w.recs {
			r.Release()
		}
		w.recs = nil
		return w.ctx.Err()
	}
	w.recs, w.rows = nil, 0
	return nil
}

// close writes the last chunk and waits for the writer.
func (w *chunkWriter) close() error {
	err := w.flush()
	close(w.ch)
	if werr := <-w.done; werr != nil {
		return werr
	}
	return err
}

// summary prints the totals.
func (in *ingester) summary(d time.Duration) {
	st := in.st
	text := st.Text
	if text == 0 {
		text = st.BytesIn
	}
	pct := 0.0
	if text > 0 {
		pct = 100 * float64(st.BytesOut) / float64(text)
	}
	mbs := 0.0
	if s := d.Seconds(); s > 0 {
		mbs = float64(text) / 1e6 / s
	}
	fmt.Fprintf(in.a.stdout, "ingested %d files into %s: %s records (%s NODATA, %s SKIPDATA), %s bad lines",
		st.Files, in.lake.URI(), groupDigits(st.Records), groupDigits(st.NoData), groupDigits(st.SkipData), groupDigits(st.BadLines))
	if st.Failed > 0 {
		fmt.Fprintf(in.a.stdout, ", %d files failed", st.Failed)
	}
	fmt.Fprintf(in.a.stdout, "\n  in: %s read, %s of flow-log text   out: %s of Parquet in %d objects (%.1f%% of the text)   %s, %.0f MB/s\n",
		humanBytes(st.BytesIn), humanBytes(st.Text), humanBytes(st.BytesOut), st.Objects, pct, d.Round(time.Millisecond), mbs)
}
