package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/store"
)

// Input kinds, the EMF dimension.
const (
	inputCloudWatch = "cloudwatch-logs"
	inputS3         = "s3"
)

// s3Chunk is how much flow-log text of an S3 object goes into one pipeline
// batch; a bigger object is split at line ends into several batches with
// deterministic ids.
const s3Chunk = 8 << 20

var errUnknownEvent = errors.New("event is neither a CloudWatch Logs subscription ({\"awslogs\":...}) nor an S3 notification ({\"Records\":...})")

// objectGetter is the part of the S3 client that reads flow-log objects.
type objectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// handler is the Lambda handler: it implements lambda.Handler, so it gets
// the raw event bytes and no generic JSON decode happens on the hot path.
type handler struct {
	pipe     *pipeline.Pipeline
	s3       objectGetter
	format   *parse.Format
	log      *slog.Logger
	metrics  io.Writer // EMF lines (stdout in Lambda)
	maxBytes int64
	s3Chunk  int // text per batch of an S3 object (default s3Chunk)

	mu    sync.Mutex // Lambda runs one event at a time per instance; this guards the buffers if not
	dec   *cwlogs.Decoder
	chunk []byte
}

// summary is the function's response: asynchronous invocations drop it,
// tests and the logs use it.
type summary struct {
	Input      string  `json:"input"`
	Batches    int     `json:"batches"`
	Records    int64   `json:"records"`
	BadLines   int64   `json:"bad_lines"`
	Bytes      int64   `json:"bytes"`
	Alerts     int     `json:"alerts"`
	Objects    int     `json:"objects"`
	LakeBytes  int64   `json:"lake_bytes"`
	Skipped    int     `json:"skipped,omitempty"` // control messages, empty batches, objects that are not flow logs
	Fallbacks  int     `json:"json_fallbacks,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

func (s *summary) add(r pipeline.Result) {
	s.Batches++
	s.Records += r.Records
	s.BadLines += r.BadLines
	s.Bytes += r.Bytes
	s.Alerts += len(r.Alerts)
	s.Objects += len(r.Objects)
	s.LakeBytes += r.LakeBytes
}

// Invoke handles one event.
func (h *handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	start := time.Now()
	// Stop a little before Lambda's deadline, so a slow batch fails with a
	// logged error and its metrics rather than a bare timeout.
	if dl, ok := ctx.Deadline(); ok {
		margin := min(time.Until(dl)/10, time.Second)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	var sum summary
	var err error
	switch eventKind(payload) {
	case inputCloudWatch:
		sum.Input = inputCloudWatch
		err = h.cloudWatch(ctx, payload, &sum)
	case inputS3:
		sum.Input = inputS3
		err = h.s3Event(ctx, payload, &sum)
	default:
		err = errUnknownEvent
	}
	sum.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	h.emitMetrics(ctx, &sum, err)
	attrs := []any{"input", sum.Input, "batches", sum.Batches, "records", sum.Records, "bad_lines", sum.BadLines,
		"bytes", sum.Bytes, "alerts", sum.Alerts, "objects", sum.Objects, "duration_ms", sum.DurationMS}
	if err != nil {
		// Lambda retries the event, then sends it to the on-failure destination.
		h.log.ErrorContext(ctx, "event failed", append(attrs, "err", err)...)
		return nil, err
	}
	h.log.InfoContext(ctx, "event ingested", attrs...)
	return json.Marshal(sum)
}

// eventKind tells the two event shapes apart by their top-level keys.
func eventKind(payload []byte) string {
	// Fast path: the first key, as both producers write it.
	p := bytes.TrimLeft(payload, " \t\r\n")
	if len(p) > 0 && p[0] == '{' {
		p = bytes.TrimLeft(p[1:], " \t\r\n")
		switch {
		case bytes.HasPrefix(p, []byte(`"awslogs"`)):
			return inputCloudWatch
		case bytes.HasPrefix(p, []byte(`"Records"`)):
			return inputS3
		}
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(payload, &keys) != nil {
		return ""
	}
	if _, ok := keys["awslogs"]; ok {
		return inputCloudWatch
	}
	if _, ok := keys["Records"]; ok {
		return inputS3
	}
	return ""
}

func (h *handler) cloudWatch(ctx context.Context, payload []byte, sum *summary) error {
	d, err := h.dec.DecodeEvent(payload)
	if err != nil {
		return fmt.Errorf("decode CloudWatch Logs payload: %w", err)
	}
	if d.Fallback {
		sum.Fallbacks++
		h.log.WarnContext(ctx, "payload needed the encoding/json fallback", "log_group", d.LogGroup, "log_stream", d.LogStream)
	}
	res, err := h.pipe.CloudWatch(ctx, d)
	if res.Skipped != "" {
		sum.Skipped++
		h.log.InfoContext(ctx, res.Skipped+" skipped", "log_group", d.LogGroup, "log_stream", d.LogStream)
		return nil
	}
	sum.add(res)
	return err
}

func (h *handler) s3Event(ctx context.Context, payload []byte, sum *summary) error {
	var ev events.S3Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decode S3 event: %w", err)
	}
	for _, r := range ev.Records {
		if err := ctx.Err(); err != nil {
			return err
		}
		obj := r.S3.Object
		key := obj.URLDecodedKey
		if key == "" {
			key = obj.Key
		}
		name := "s3://" + r.S3.Bucket.Name + "/" + key
		if !strings.HasPrefix(r.EventName, "ObjectCreated") {
			sum.Skipped++
			h.log.InfoContext(ctx, "not an ObjectCreated event, skipped", "event", r.EventName, "object", name)
			continue
		}
		kind := objectKind(key)
		if kind == "" {
			sum.Skipped++
			h.log.InfoContext(ctx, "not a flow-log object, skipped", "object", name)
			continue
		}
		// Identity: the object's version, or its ETag when unversioned.
		ver := obj.VersionID
		if ver == "" {
			ver = obj.ETag
		}
		id := cwlogs.BatchID("s3", r.S3.Bucket.Name, key, ver)
		in := &s3.GetObjectInput{Bucket: aws.String(r.S3.Bucket.Name), Key: aws.String(key)}
		if obj.VersionID != "" {
			in.VersionId = aws.String(obj.VersionID)
		} else if obj.ETag != "" {
			in.IfMatch = aws.String(obj.ETag)
		}
		out, err := h.s3.GetObject(ctx, in)
		if err != nil {
			return fmt.Errorf("get %s: %w", name, err)
		}
		if kind == "parquet" {
			err = h.s3Parquet(ctx, out.Body, id, name, sum)
		} else {
			err = h.s3Text(ctx, out.Body, id, name, sum)
		}
		out.Body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// objectKind returns "text" or "parquet" for the names AWS gives flow-log
// objects, "" for anything else.
func objectKind(key string) string {
	switch {
	case strings.HasSuffix(key, ".parquet"):
		return "parquet"
	case strings.HasSuffix(key, ".log.gz"), strings.HasSuffix(key, ".log"), strings.HasSuffix(key, ".txt"), strings.HasSuffix(key, ".gz"):
		return "text"
	}
	return ""
}

// s3Text streams a (gzip) text object through the pipeline in chunks that
// end at line ends; chunk i's batch id is id#i.
func (h *handler) s3Text(ctx context.Context, body io.Reader, id, name string, sum *summary) error {
	br := bufio.NewReaderSize(body, 256<<10)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		r = zr
	}
	tr := bufio.NewReaderSize(r, 256<<10)
	fm := h.format
	for i := 0; ; i++ {
		size := h.s3Chunk
		if size <= 0 {
			size = s3Chunk
		}
		chunk, err := readChunk(tr, h.chunk[:0], size, h.maxBytes)
		h.chunk = chunk[:0]
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if len(chunk) == 0 {
			return nil
		}
		if i == 0 {
			// Files AWS delivers start with a header line naming the
			// fields; later chunks need its format explicitly.
			first, _, _ := bytes.Cut(chunk, []byte{'\n'})
			if c := bytes.TrimLeft(first, " "); len(c) > 0 && c[0] >= 'a' && c[0] <= 'z' {
				if hf, _, herr := parse.FromHeader(string(first)); herr == nil {
					fm = hf
				}
			}
		}
		bid, src := id, name
		if i > 0 { // line numbers in errors count from the part's start
			bid, src = fmt.Sprintf("%s#%d", id, i), fmt.Sprintf("%s (part %d)", name, i+1)
		}
		res, perr := h.pipe.Process(ctx, pipeline.Batch{ID: bid, Source: src, Format: fm, Text: chunk})
		sum.add(res)
		if perr != nil {
			return perr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// readChunk reads about size bytes, then on to the end of the line. It
// returns io.EOF with the last chunk.
func readChunk(r *bufio.Reader, buf []byte, size int, max int64) ([]byte, error) {
	if cap(buf) < size+4096 {
		buf = make([]byte, 0, size+4096)
	}
	n, err := io.ReadFull(r, buf[:size])
	buf = buf[:n]
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return buf, err
	}
	for {
		line, err := r.ReadSlice('\n')
		buf = append(buf, line...)
		if int64(len(buf)) > max {
			return buf, fmt.Errorf("a line runs past %d bytes", max)
		}
		if err == nil {
			return buf, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}

// s3Parquet reads a Parquet object AWS delivered (FileFormat=parquet) and
// stores its records as one batch.
func (h *handler) s3Parquet(ctx context.Context, body io.Reader, id, name string, sum *summary) error {
	data, err := io.ReadAll(io.LimitReader(body, h.maxBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > h.maxBytes {
		return fmt.Errorf("%s: over %d bytes", name, h.maxBytes)
	}
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	err = store.ReadParquet(ctx, bytes.NewReader(data), nil, func(rec arrow.RecordBatch) error {
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read parquet %s: %w", name, err)
	}
	res, err := h.pipe.Process(ctx, pipeline.Batch{ID: id, Source: name, Records: recs})
	res.Bytes = int64(len(data))
	sum.add(res)
	return err
}
