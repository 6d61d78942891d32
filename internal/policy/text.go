package policy

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the result for a person: the verdict, deciding layer and
// rule, the two ends as the snapshot knows them, then every check.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  %s\n", strings.ToUpper(r.Verdict), r.Layer, r.Rule)
	port := ""
	if r.Protocol == "tcp" || r.Protocol == "udp" {
		port = fmt.Sprintf(":%d", r.DstPort)
	}
	fmt.Fprintf(&b, "  %s %s -> %s%s %s\n", r.Protocol, describeEndpoint(r.Src), r.Dst.Address, port, describeEndpointTail(r.Dst))
	fmt.Fprintf(&b, "  inventory snapshot of %s\n\n", r.Snapshot.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RESULT\tLAYER\tCHECK\tRULE")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Result, s.Layer, s.Check, s.Rule)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func describeEndpoint(e Endpoint) string {
	return e.Address + " " + describeEndpointTail(e)
}

// describeEndpointTail is "(name, eni, subnet name)" or "(outside the VPC)".
func describeEndpointTail(e Endpoint) string {
	if e.Outside {
		return "(outside the VPC)"
	}
	var parts []string
	for _, s := range []string{e.Name, e.ENI, e.SubnetName} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if e.ENI == "" {
		parts = append(parts, "no known interface")
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
