package cwlogs

import (
	"bytes"

	"github.com/aws/aws-lambda-go/events"
)

// PackOptions say how Pack groups lines into payloads.
type PackOptions struct {
	Owner    string // account id
	LogGroup string
	Filter   string // subscription filter name
	// Stream returns the log stream of a line (for flow logs, the ENI:
	// "eni-0123…-all"). Required.
	Stream func(line []byte) string
	// Timestamp returns the event time of a line in milliseconds (for flow
	// logs, start × 1000). Required.
	Timestamp func(line []byte) int64
	// MaxEvents and MaxBytes bound one payload's events and message bytes
	// (defaults 5000 and 512 KiB).
	MaxEvents, MaxBytes int
	// Window, if set, starts a new payload when an event's timestamp falls
	// in another window of this many milliseconds (CloudWatch Logs delivers
	// within minutes, so a payload covers a short time).
	Window int64
}

// Pack turns newline-separated log lines into Lambda events as CloudWatch
// Logs builds them: one payload per log stream and batch, events in line
// order, deterministic event ids. Streams appear in order of first line.
func Pack(text []byte, opts PackOptions) ([][]byte, error) {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 5000
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 512 << 10
	}
	type stream struct {
		name  string
		lines [][]byte
	}
	var order []*stream
	byName := map[string]*stream{}
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte{'\n'})
		text = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		name := opts.Stream(line)
		s := byName[name]
		if s == nil {
			s = &stream{name: name}
			byName[name] = s
			order = append(order, s)
		}
		s.lines = append(s.lines, line)
	}
	var out [][]byte
	var seq uint64
	for _, s := range order {
		for len(s.lines) > 0 {
			d := events.CloudwatchLogsData{MessageType: DataMessage, Owner: opts.Owner, LogGroup: opts.LogGroup,
				LogStream: s.name, SubscriptionFilters: []string{opts.Filter}}
			size := 0
			win := int64(-1)
			for len(s.lines) > 0 && len(d.LogEvents) < opts.MaxEvents && size < opts.MaxBytes {
				l := s.lines[0]
				ts := opts.Timestamp(l)
				if opts.Window > 0 {
					if w := ts / opts.Window; win < 0 {
						win = w
					} else if w != win {
						break
					}
				}
				s.lines = s.lines[1:]
				seq++
				d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{ID: EventID(ts, seq), Timestamp: ts, Message: string(l)})
				size += len(l)
			}
			p, err := Encode(d)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// Field returns the i-th space-separated field of a line (nil if absent).
func Field(line []byte, i int) []byte {
	for f := 0; ; f++ {
		line = bytes.TrimLeft(line, " ")
		if len(line) == 0 {
			return nil
		}
		end := bytes.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		if f == i {
			return line[:end]
		}
		line = line[end:]
	}
}
