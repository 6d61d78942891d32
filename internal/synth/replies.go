package synth

import (
	"bytes"

	"github.com/flowq/flowq/internal/parse"
)

// WithReplies returns text (records in format fm, one a line; a header line
// is kept as it is) with, after each ACCEPTed record, the reply the same
// interface logs for it, as VPC Flow Logs log both directions of a
// connection: addresses, ports and pkt-* addresses swapped, the other
// flow-direction, tcp-flags SYN-ACK. Packets and bytes are kept. REJECTed,
// NODATA and SKIPDATA records get none. The generator writes requests only;
// real logs are about half replies, whose destination port is the client's
// ephemeral one.
func WithReplies(fm *parse.Format, text []byte) []byte {
	idx := func(name string) int { return fm.Index(name) }
	src, dst, sp, dp := idx("srcaddr"), idx("dstaddr"), idx("srcport"), idx("dstport")
	psrc, pdst, dir, flags := idx("pkt-srcaddr"), idx("pkt-dstaddr"), idx("flow-direction"), idx("tcp-flags")
	action, status := idx("action"), idx("log-status")
	out := make([]byte, 0, len(text)*2)
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte("\n"))
		text = rest
		out = append(append(out, line...), '\n')
		f := bytes.Split(line, []byte(" "))
		if len(f) != fm.Len() || action < 0 || string(f[action]) != parse.ActionAccept || status >= 0 && string(f[status]) != parse.StatusOK {
			continue
		}
		swap := func(a, b int) {
			if a >= 0 && b >= 0 {
				f[a], f[b] = f[b], f[a]
			}
		}
		swap(src, dst)
		swap(sp, dp)
		swap(psrc, pdst)
		if dir >= 0 {
			f[dir] = map[string][]byte{"ingress": []byte("egress"), "egress": []byte("ingress")}[string(f[dir])]
			if f[dir] == nil {
				f[dir] = []byte("-")
			}
		}
		if flags >= 0 {
			f[flags] = []byte("18")
		}
		out = append(append(out, bytes.Join(f, []byte(" "))...), '\n')
	}
	return out
}
