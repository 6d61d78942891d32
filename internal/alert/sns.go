package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/flowq/flowq/internal/detect"
)

// SNSAPI is the part of the SNS client the sink uses; *sns.Client has it.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
	PublishBatch(ctx context.Context, in *sns.PublishBatchInput, opts ...func(*sns.Options)) (*sns.PublishBatchOutput, error)
}

// SNS limits.
const (
	// MaxSubject is the longest subject sent: SNS wants fewer than 100
	// characters.
	MaxSubject = 99
	// MaxMessageBytes is SNS's default message size limit, attributes
	// included, and also the limit of a whole PublishBatch.
	MaxMessageBytes = 256 * 1024
	maxBatchEntries = 10
)

// SNSOptions tune the SNS sink. The zero value is ready to use.
type SNSOptions struct {
	// SubjectPrefix starts every subject (default "[flowq] ").
	SubjectPrefix string
	// MaxMessageBytes bounds a message with its subject and attributes
	// (default MaxMessageBytes); evidence is trimmed to fit.
	MaxMessageBytes int
	// Attempts is the number of tries of a call or a failed batch entry on
	// throttling and server errors (default 5), with exponential backoff
	// from Backoff (default 200ms), jittered.
	Attempts int
	Backoff  time.Duration
}

// SNS publishes each alert as one SNS message: a printable-ASCII subject,
// the alert as a JSON body, and the message attributes "detector",
// "severity" and "alert_id" (String) for subscription filter policies.
// Several alerts go out in PublishBatch calls of up to 10. On a FIFO topic
// the alert ID is the deduplication ID and the detector the group.
type SNS struct {
	api   SNSAPI
	topic string
	fifo  bool
	opts  SNSOptions
	sleep func(context.Context, time.Duration) error
}

// NewSNS returns a sink publishing to topicARN.
func NewSNS(client SNSAPI, topicARN string, opts SNSOptions) *SNS {
	if opts.SubjectPrefix == "" {
		opts.SubjectPrefix = "[flowq] "
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = MaxMessageBytes
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	return &SNS{api: client, topic: topicARN, fifo: strings.HasSuffix(topicARN, ".fifo"), opts: opts, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Subject returns the SNS subject of an alert: printable ASCII, at most
// MaxSubject characters. Arrows are written "->": SNS subjects were
// long documented as ASCII only, and e-mail subjects render them anywhere.
func Subject(prefix string, a *detect.Alert) string {
	t := a.Title
	if t == "" {
		t = a.Detector + " " + a.Src + " " + a.Dst
	}
	if over := len(prefix) + len(t) - MaxSubject; over > 0 {
		t = shortenNames(t, a, over)
	}
	var b strings.Builder
	for _, r := range prefix + t {
		switch {
		case r == '→':
			b.WriteString("->")
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	s := b.String()
	if len(s) > MaxSubject {
		s = s[:MaxSubject-3] + "..."
	}
	return s
}

// shortenNames cuts the resource names in title ("(name)", as titles
// name the hosts behind addresses), the longest first, to no fewer than 12
// characters each ending in "...", by up to over bytes in all: in a subject
// that must be cut, the names give way before the destination and the
// amount or port count that follow them.
func shortenNames(title string, a *detect.Alert, over int) string {
	var names []string
	for _, r := range []*detect.Resource{a.SrcResource, a.DstResource} {
		if r != nil && r.Name != "" {
			names = append(names, r.Name)
		}
	}
	slices.SortStableFunc(names, func(x, y string) int { return len(y) - len(x) })
	const keep = 12
	for _, n := range names {
		if over <= 0 || len(n) <= keep || !strings.Contains(title, "("+n+")") {
			continue
		}
		k := max(keep-3, len(n)-over-3)
		for k > 0 && !utf8.RuneStart(n[k]) {
			k--
		}
		title = strings.Replace(title, "("+n+")", "("+n[:k]+"...)", 1)
		over -= len(n) - (k + 3)
	}
	return title
}

type message struct {
	alert   *detect.Alert
	subject string
	body    string
	attrs   map[string]types.MessageAttributeValue
	size    int
}

// build renders an alert as a message within the size limit, trimming
// evidence, then the port, ENI and destination lists.
func (s *SNS) build(a detect.Alert) (message, error) {
	m := message{alert: &a, subject: Subject(s.opts.SubjectPrefix, &a), attrs: map[string]types.MessageAttributeValue{
		"detector": {DataType: aws.String("String"), StringValue: aws.String(a.Detector)},
		"severity": {DataType: aws.String("String"), StringValue: aws.String(a.Severity)},
		"alert_id": {DataType: aws.String("String"), StringValue: aws.String(a.ID)},
	}}
	fixed := len(m.subject)
	for k, v := range m.attrs {
		fixed += len(k) + len(*v.DataType) + len(*v.StringValue)
	}
	for {
		body, err := json.Marshal(&a)
		if err != nil {
			return m, fmt.Errorf("encode alert %s: %w", a.ID, err)
		}
		if m.size = fixed + len(body); m.size <= s.opts.MaxMessageBytes {
			m.body = string(body)
			return m, nil
		}
		switch {
		case len(a.Evidence) > 0:
			a.Evidence = a.Evidence[:len(a.Evidence)/2]
		case len(a.Ports) > 16 || len(a.ENIs) > 16 || len(a.Dsts) > 16:
			a.Ports, a.ENIs, a.Dsts = a.Ports[:min(16, len(a.Ports))], a.ENIs[:min(16, len(a.ENIs))], a.Dsts[:min(16, len(a.Dsts))]
		default:
			return m, fmt.Errorf("alert %s: %d bytes, over the %d-byte SNS limit even without evidence", a.ID, m.size, s.opts.MaxMessageBytes)
		}
	}
}

// Send publishes the alerts: one Publish for a single alert, PublishBatch
// for more, retrying throttled and failed entries with backoff.
func (s *SNS) Send(ctx context.Context, alerts []detect.Alert) error {
	msgs := make([]message, 0, len(alerts))
	var errs []error
	for _, a := range alerts {
		m, err := s.build(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 1 {
		errs = append(errs, s.publish(ctx, &msgs[0]))
		return errors.Join(errs...)
	}
	for len(msgs) > 0 {
		n, size := 0, 0
		for n < len(msgs) && n < maxBatchEntries && (n == 0 || size+msgs[n].size <= s.opts.MaxMessageBytes) {
			size += msgs[n].size
			n++
		}
		if err := s.publishBatch(ctx, msgs[:n]); err != nil {
			errs = append(errs, err)
		}
		msgs = msgs[n:]
	}
	return errors.Join(errs...)
}

// withRetries makes the SDK retry throttling and 5xx errors up to Attempts
// times, with its exponential, jittered backoff.
func (s *SNS) withRetries(o *sns.Options) {
	o.Retryer = retry.AddWithMaxAttempts(o.Retryer, s.opts.Attempts)
	o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, 20*time.Second)
}

func (s *SNS) publish(ctx context.Context, m *message) error {
	in := &sns.PublishInput{TopicArn: aws.String(s.topic), Subject: aws.String(m.subject), Message: aws.String(m.body), MessageAttributes: m.attrs}
	if s.fifo {
		in.MessageGroupId, in.MessageDeduplicationId = aws.String(m.alert.Detector), aws.String(m.alert.ID)
	}
	if _, err := s.api.Publish(ctx, in, s.withRetries); err != nil {
		return fmt.Errorf("publish alert %s to %s: %w", m.alert.ID, s.topic, err)
	}
	return nil
}

func (s *SNS) publishBatch(ctx context.Context, msgs []message) error {
	pending := make(map[string]*message, len(msgs))
	for i := range msgs {
		pending["a"+strconv.Itoa(i)] = &msgs[i]
	}
	var permanent []error
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if attempt >= s.opts.Attempts {
				break
			}
			d := s.opts.Backoff << (attempt - 1)
			if err := s.sleep(ctx, d/2+rand.N(d/2+1)); err != nil {
				return err
			}
		}
		in := &sns.PublishBatchInput{TopicArn: aws.String(s.topic)}
		for id, m := range pending {
			e := types.PublishBatchRequestEntry{Id: aws.String(id), Subject: aws.String(m.subject), Message: aws.String(m.body), MessageAttributes: m.attrs}
			if s.fifo {
				e.MessageGroupId, e.MessageDeduplicationId = aws.String(m.alert.Detector), aws.String(m.alert.ID)
			}
			in.PublishBatchRequestEntries = append(in.PublishBatchRequestEntries, e)
		}
		out, err := s.api.PublishBatch(ctx, in, s.withRetries)
		if err != nil {
			return fmt.Errorf("publish %d alerts to %s: %w", len(pending), s.topic, err)
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			if f.SenderFault {
				if m := pending[id]; m != nil {
					permanent = append(permanent, fmt.Errorf("publish alert %s: %s: %s", m.alert.ID, aws.ToString(f.Code), aws.ToString(f.Message)))
				}
				delete(pending, id)
			}
		}
	}
	for _, m := range pending {
		permanent = append(permanent, fmt.Errorf("publish alert %s to %s: still failing after %d attempts", m.alert.ID, s.topic, s.opts.Attempts))
	}
	return errors.Join(permanent...)
}
