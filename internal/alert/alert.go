// Package alert delivers detect's alerts: to SNS (the deployed pipeline), to
// a terminal as text, or to a JSON Lines file. It is an edge package: the
// AWS calls live here, never in detect.
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/render"
)

// Sink delivers alerts. Send returns only when every alert was delivered,
// or with an error naming what was not.
type Sink interface {
	Send(ctx context.Context, alerts []detect.Alert) error
}

// Multi sends to every sink in turn and joins their errors.
func Multi(sinks ...Sink) Sink { return multi(sinks) }

type multi []Sink

func (m multi) Send(ctx context.Context, alerts []detect.Alert) error {
	var errs []error
	for _, s := range m {
		if err := s.Send(ctx, alerts); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NewJSONL returns a sink writing one JSON object per alert per line.
func NewJSONL(w io.Writer) Sink { return jsonl{w} }

type jsonl struct{ w io.Writer }

func (s jsonl) Send(_ context.Context, alerts []detect.Alert) error {
	var buf []byte
	for i := range alerts {
		b, err := json.Marshal(&alerts[i])
		if err != nil {
			return fmt.Errorf("encode alert %s: %w", alerts[i].ID, err)
		}
		buf = append(append(buf, b...), '\n')
	}
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("write alerts: %w", err)
	}
	return nil
}

// NewText returns a sink writing alerts for people: a headline per alert
// and its evidence indented below.
func NewText(w io.Writer) Sink { return text{w} }

type text struct{ w io.Writer }

const timeFmt = "2006-01-02 15:04"

func (s text) Send(_ context.Context, alerts []detect.Alert) error {
	var b strings.Builder
	for i := range alerts {
		a := &alerts[i]
		fmt.Fprintf(&b, "%s  %-6s  %s\n", a.WindowStart.UTC().Format(timeFmt), strings.ToUpper(a.Severity), a.Title)
		fmt.Fprintf(&b, "    window %s..%s  %s in %d records, %d packets  first %s last %s  id %s\n",
			a.WindowStart.UTC().Format(timeFmt), a.WindowEnd.UTC().Format("15:04"), render.Bytes(a.Bytes), a.Count, a.Packets,
			a.FirstSeen.UTC().Format("15:04:05"), a.LastSeen.UTC().Format("15:04:05"), a.ID)
		if len(a.Ports) > 0 {
			fmt.Fprintf(&b, "    ports %s\n", joinInts(a.Ports, 20))
		}
		if len(a.ENIs) > 0 {
			fmt.Fprintf(&b, "    enis %s\n", strings.Join(a.ENIs, ", "))
		}
		if a.Rule != "" {
			fmt.Fprintf(&b, "    rule %s\n", a.Rule)
		}
		for _, r := range []struct {
			side string
			res  *detect.Resource
		}{{"src", a.SrcResource}, {"dst", a.DstResource}} {
			if r.res != nil {
				fmt.Fprintf(&b, "    %s %s\n", r.side, resourceText(r.res))
			}
		}
		for _, e := range a.Evidence {
			fmt.Fprintf(&b, "    %s %s:%d -> %s:%d proto %d %s %d pkts %s %s\n", e.Start.UTC().Format("15:04:05"),
				e.Src, e.SrcPort, e.Dst, e.DstPort, e.Protocol, render.Bytes(e.Bytes), e.Packets, e.Action, e.ENI)
		}
		if a.EvidenceMore > 0 {
			fmt.Fprintf(&b, "    +%d more\n", a.EvidenceMore)
		}
	}
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return fmt.Errorf("write alerts: %w", err)
	}
	return nil
}

func joinInts(v []int, max int) string {
	var b strings.Builder
	for i, x := range v {
		if i == max {
			fmt.Fprintf(&b, " (+%d more)", len(v)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}

// resourceText names a resource on one line: name, instance, ENI, subnet.
func resourceText(r *detect.Resource) string {
	var parts []string
	for _, p := range []string{r.Name, r.InstanceID, r.ENI, r.InterfaceType, r.SubnetName, r.SubnetID} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	for _, g := range r.SecurityGroups {
		parts = append(parts, g.ID)
	}
	return strings.Join(parts, " ")
}
