// Package cwlogs decodes the CloudWatch Logs subscription payloads that Lambda
// receives ({"awslogs":{"data":"<base64(gzip(JSON))>"}}) into one reusable
// buffer of newline-separated messages, with a cap on the decompressed size
// and without a generic JSON decode on the hot path. It also builds such
// payloads, exactly as CloudWatch Logs does, for tests and the demo.
package cwlogs

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
)

// Message types of a subscription payload.
const (
	DataMessage    = "DATA_MESSAGE"
	ControlMessage = "CONTROL_MESSAGE" // a reachability probe: nothing to ingest
)

// DefaultMaxBytes is the default cap on the decompressed JSON of one payload.
// A Lambda payload is at most 1 MB of base64; flow-log JSON compresses about
// 10:1, so 64 MiB leaves room for any real batch and stops a gzip bomb.
const DefaultMaxBytes = 64 << 20

// Errors of Decode; the returned error wraps exactly one of them.
var (
	ErrEnvelope     = errors.New("not a CloudWatch Logs subscription event")
	ErrBase64       = errors.New("awslogs.data is not valid base64")
	ErrGzip         = errors.New("awslogs.data is not valid gzip")
	ErrTooLarge     = errors.New("decompressed payload over the size cap")
	ErrJSON         = errors.New("payload is not valid subscription JSON")
	ErrMissingField = errors.New("payload misses a required field")
)

// Options configure a Decoder.
type Options struct {
	// MaxBytes caps the decompressed JSON (default DefaultMaxBytes).
	MaxBytes int64
}

// Data is one decoded payload. Its slices belong to the Decoder and are valid
// until the next Decode.
type Data struct {
	MessageType         string
	Owner               string
	LogGroup            string
	LogStream           string
	SubscriptionFilters []string
	PolicyLevel         string // "ACCOUNT_LEVEL_POLICY" for account-level subscriptions

	// Text is every event's message followed by '\n', in order: the input of
	// parse.NewBytesReader.
	Text []byte

	events []event
	ids    []byte
	lines  int64 // lines in Text
	// Fallback reports that the payload went through encoding/json because
	// the fast scanner met something it does not handle.
	Fallback bool
}

type event struct {
	ts             int64
	idOff, idEnd   int
	msgOff, msgEnd int
	line           int64 // 1-based line in Text where the message starts
}

// Event is one log event.
type Event struct {
	ID        string
	Timestamp int64 // milliseconds since the epoch
	Message   []byte
	Line      int64 // 1-based line in Data.Text where the message starts
}

// Len returns the number of log events.
func (d *Data) Len() int { return len(d.events) }

// Event returns event i.
func (d *Data) Event(i int) Event {
	e := d.events[i]
	return Event{ID: string(d.ids[e.idOff:e.idEnd]), Timestamp: e.ts, Message: d.Text[e.msgOff:e.msgEnd], Line: e.line}
}

// EventAtLine returns the index of the event whose message holds the given
// 1-based line of Text, or -1.
func (d *Data) EventAtLine(line int64) int {
	i := sort.Search(len(d.events), func(i int) bool { return d.events[i].line > line }) - 1
	if i < 0 || line < 1 || line > d.lines {
		return -1
	}
	return i
}

// FirstEventID returns the id of the first event ("" if none).
func (d *Data) FirstEventID() string {
	if len(d.events) == 0 {
		return ""
	}
	e := d.events[0]
	return string(d.ids[e.idOff:e.idEnd])
}

// BatchID is the payload's identity, derived from (log group, log stream,
// first event id): CloudWatch Logs sends a retried batch with the same
// values, so the same batch always gets the same id.
func (d *Data) BatchID() string {
	return BatchID(d.LogGroup, d.LogStream, d.FirstEventID())
}

// BatchID hashes identity parts into a short id that is safe in object keys.
func BatchID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Validate checks the fields a DATA_MESSAGE needs to be ingested.
func (d *Data) Validate() error {
	switch d.MessageType {
	case DataMessage, ControlMessage:
	case "":
		return fmt.Errorf("%w: messageType", ErrMissingField)
	default:
		return fmt.Errorf("%w: unknown messageType %q", ErrJSON, d.MessageType)
	}
	if d.MessageType == ControlMessage {
		return nil
	}
	if d.LogGroup == "" {
		return fmt.Errorf("%w: logGroup", ErrMissingField)
	}
	if d.LogStream == "" {
		return fmt.Errorf("%w: logStream", ErrMissingField)
	}
	for i, e := range d.events {
		if e.idOff == e.idEnd {
			return fmt.Errorf("%w: logEvents[%d].id", ErrMissingField, i)
		}
	}
	return nil
}

// CloudwatchLogsData returns the payload as aws-lambda-go's type (allocating
// a string per message): for tests and tools, not the hot path.
func (d *Data) CloudwatchLogsData() events.CloudwatchLogsData {
	out := events.CloudwatchLogsData{Owner: d.Owner, LogGroup: d.LogGroup, LogStream: d.LogStream,
		SubscriptionFilters: d.SubscriptionFilters, MessageType: d.MessageType}
	if len(d.events) > 0 {
		out.LogEvents = make([]events.CloudwatchLogsLogEvent, len(d.events))
		for i := range d.events {
			e := d.Event(i)
			out.LogEvents[i] = events.CloudwatchLogsLogEvent{ID: e.ID, Timestamp: e.Timestamp, Message: string(e.Message)}
		}
	}
	return out
}

// Decoder decodes payloads into buffers it reuses. It is not safe for
// concurrent use.
type Decoder struct {
	max  int64
	raw  []byte // base64-decoded gzip
	js   []byte // decompressed JSON
	text []byte // Data.Text when it cannot be built in place
	zr   *gzip.Reader
	br   bytes.Reader
	data Data
	tmp  []byte
}

// NewDecoder returns a Decoder.
func NewDecoder(opts Options) *Decoder {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	return &Decoder{max: opts.MaxBytes}
}

// DecodeEvent decodes a Lambda event {"awslogs":{"data":"..."}}.
func (d *Decoder) DecodeEvent(event []byte) (*Data, error) {
	b64, err := envelopeData(event)
	if err != nil {
		return nil, err
	}
	return d.Decode(b64)
}

// envelopeData finds awslogs.data in a Lambda event without decoding the
// rest; anything unusual goes through encoding/json.
func envelopeData(event []byte) ([]byte, error) {
	s := scanner{b: event}
	if b, ok := s.envelope(); ok {
		return b, nil
	}
	var ev events.CloudwatchLogsEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	if ev.AWSLogs.Data == "" {
		return nil, fmt.Errorf("%w: no awslogs.data", ErrEnvelope)
	}
	return []byte(ev.AWSLogs.Data), nil
}

// Decode decodes the base64 awslogs.data string.
func (d *Decoder) Decode(b64 []byte) (*Data, error) {
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(d.raw) < n {
		d.raw = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(d.raw[:n], b64)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBase64, err)
	}
	gz := d.raw[:n]
	js, err := d.gunzip(gz)
	if err != nil {
		return nil, err
	}
	// The messages are unescaped in place, into the JSON buffer itself:
	// each is written behind the scanner's read position (an event's framing
	// is longer than the newline that replaces it), so no second buffer of
	// the payload's size is needed. If the scanner gives up, the JSON is
	// decompressed again for encoding/json.
	dt := &d.data
	dt.reset(js[:0])
	if d.scan(js) {
		return valid(dt)
	}
	if js, err = d.gunzip(gz); err != nil {
		return nil, err
	}
	return d.fallback(js)
}

// gunzip decompresses into the reused JSON buffer, at most d.max bytes.
func (d *Decoder) gunzip(gz []byte) ([]byte, error) {
	d.br.Reset(gz)
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(&d.br)
	} else {
		err = d.zr.Reset(&d.br)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGzip, err)
	}
	// Flow-log JSON compresses about 10:1; start there, grow to the cap.
	if want := min(int64(len(gz))*12+4096, d.max+1); int64(cap(d.js)) < want {
		d.js = make([]byte, 0, want)
	}
	buf := d.js[:0]
	lr := io.LimitReader(d.zr, d.max+1)
	for {
		if len(buf) == cap(buf) {
			next := min(int64(cap(buf))*2, d.max+1)
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		m, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if int64(len(buf)) > d.max {
			d.js = buf[:0]
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, d.max)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			d.js = buf[:0]
			return nil, fmt.Errorf("%w: %v", ErrGzip, err)
		}
	}
	d.js = buf[:0]
	return buf, nil
}

// DecodeJSON decodes the decompressed subscription JSON.
// js is not modified.
func (d *Decoder) DecodeJSON(js []byte) (*Data, error) {
	dt := &d.data
	dt.reset(d.text[:0])
	ok := d.scan(js)
	d.text = dt.Text[:0]
	if ok {
		return valid(dt)
	}
	return d.fallback(js)
}

// scan runs the fast scanner over js into d.data.
func (d *Decoder) scan(js []byte) bool {
	s := scanner{b: js, d: &d.data, tmp: d.tmp[:0]}
	ok := s.payload()
	d.tmp = s.tmp
	return ok
}

// fallback decodes js with encoding/json into d.data.
func (d *Decoder) fallback(js []byte) (*Data, error) {
	dt := &d.data
	dt.reset(d.text[:0])
	err := dt.fromJSON(js)
	d.text = dt.Text[:0]
	if err != nil {
		return nil, err
	}
	return valid(dt)
}

func valid(d *Data) (*Data, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// reset empties d, with text as the buffer for Text.
func (d *Data) reset(text []byte) {
	*d = Data{Text: text, events: d.events[:0], ids: d.ids[:0]}
}

// jsonPayload is what encoding/json decodes in the fallback path.
type jsonPayload struct {
	events.CloudwatchLogsData
	PolicyLevel string `json:"policyLevel"`
}

func (d *Data) fromJSON(js []byte) error {
	var p jsonPayload
	if err := json.Unmarshal(js, &p); err != nil {
		return fmt.Errorf("%w: %v", ErrJSON, err)
	}
	d.Fallback = true
	d.MessageType, d.Owner, d.LogGroup, d.LogStream = p.MessageType, p.Owner, p.LogGroup, p.LogStream
	d.SubscriptionFilters, d.PolicyLevel = p.SubscriptionFilters, p.PolicyLevel
	line := int64(1)
	for _, e := range p.LogEvents {
		ev := event{ts: e.Timestamp, idOff: len(d.ids), msgOff: len(d.Text), line: line}
		d.ids = append(d.ids, e.ID...)
		d.Text = append(d.Text, e.Message...)
		ev.idEnd, ev.msgEnd = len(d.ids), len(d.Text)
		line += int64(bytes.Count(d.Text[ev.msgOff:ev.msgEnd], []byte{'\n'})) + 1
		d.Text = append(d.Text, '\n')
		d.events = append(d.events, ev)
	}
	d.lines = line - 1
	return nil
}
