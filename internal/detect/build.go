package detect

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// alert builds the alert of a due key.
func (e *Engine) alert(c *columns, a *agg, k Key, t *Totals) Alert {
	ws := time.Unix(k.Window, 0).UTC()
	al := Alert{
		ID: AlertID(k), Detector: k.Detector, Severity: severity(k.Detector), Src: k.Src, Dst: k.Dst,
		WindowStart: ws, WindowEnd: ws.Add(time.Duration(e.span(a.key)) * time.Second),
		Bytes: t.Bytes, Packets: t.Packets, Count: t.Count, Threshold: e.threshold(a.key),
		FirstSeen: time.Unix(t.First, 0).UTC(), LastSeen: time.Unix(t.Last, 0).UTC(),
	}
	if a.key.det == detExfil {
		al.Rule = e.rules[a.key.rule].text
	}
	if a.key.det == detScan && t.Count == 0 {
		// No probe in the window, only ports in regular use: describe
		// this batch's records of the pair.
		al.Bytes, al.Packets, al.Count = a.bytes, a.packets, a.count
		al.FirstSeen, al.LastSeen = time.Unix(a.first, 0).UTC(), time.Unix(a.last, 0).UTC()
	}
	if k.Detector == PortScan {
		// State keeps scan-ports of a batch's ports; the batch itself
		// knows all of its own.
		for _, p := range t.Ports {
			al.Ports = append(al.Ports, int(p))
		}
		for _, p := range a.ports.list() {
			al.Ports = append(al.Ports, int(p))
		}
		slices.Sort(al.Ports)
		al.Ports = slices.Compact(al.Ports)
	} else {
		for _, p := range a.ports.list() {
			al.Ports = append(al.Ports, int(p))
		}
		slices.Sort(al.Ports)
	}
	ev := slices.Clone(a.ev)
	bytesOf := func(r int32) int64 {
		if c.bytes.valid(int(r)) {
			return c.bytes.value(int(r))
		}
		return 0
	}
	slices.SortStableFunc(ev, func(x, y int32) int { return cmp.Or(cmp.Compare(bytesOf(y), bytesOf(x)), cmp.Compare(x, y)) })
	for _, r := range ev {
		i := int(r)
		v := Evidence{Bytes: bytesOf(r)}
		if c.eni.IsValid(i) {
			v.ENI = strings.Clone(c.eni.Value(i)) // alerts outlive the batch's buffers
			if !slices.Contains(al.ENIs, v.ENI) {
				al.ENIs = append(al.ENIs, v.ENI)
			}
		}
		v.Src, v.Dst = c.src.Value(i), c.dst.Value(i)
		if c.pktSrc.IsValid(i) {
			v.Src = c.pktSrc.Value(i)
		}
		if c.pktDst.IsValid(i) {
			v.Dst = c.pktDst.Value(i)
		}
		v.Src, v.Dst = canonical(v.Src), canonical(v.Dst)
		if k.Detector == Reject && !slices.Contains(al.Dsts, v.Dst) {
			al.Dsts = append(al.Dsts, v.Dst)
		}
		v.SrcPort = int(c.srcPort.get(i))
		v.DstPort = int(c.dstPort.get(i))
		v.Protocol = int(c.proto.get(i))
		v.Packets = c.packets.get(i)
		v.Start = time.Unix(c.start.value(i), 0).UTC()
		v.End = v.Start
		if c.end.valid(i) {
			v.End = time.Unix(c.end.value(i), 0).UTC()
		}
		if c.action.IsValid(i) {
			v.Action = strings.Clone(c.action.Value(i))
		}
		al.Evidence = append(al.Evidence, v)
	}
	slices.Sort(al.ENIs)
	slices.Sort(al.Dsts)
	if more := al.Count - int64(len(al.Evidence)); more > 0 {
		al.EvidenceMore = more
	}
	nameResources(e.resolver, &al)
	al.Title = title(&al)
	return al
}

// nameResources names the resources behind the alert's addresses through
// r (nil: none), the engine's alerts and the policy detector's. Each is
// looked up on an interface that logged evidence with it and is not a NAT's
// (whose records stand for the hosts behind it): the interface itself, or
// the network it is in.
func nameResources(r Resolver, al *Alert) {
	if r == nil {
		return
	}
	at := al.FirstSeen
	seenOn := func(match func(v *Evidence) bool) string {
		for i := range al.Evidence {
			if v := &al.Evidence[i]; v.ENI != "" && match(v) && !r.NAT(v.ENI) {
				return v.ENI
			}
		}
		return ""
	}
	al.SrcResource = r.Resolve(seenOn(func(v *Evidence) bool { return v.Src == al.Src }), al.Src, at)
	if dst := al.Dst; dst != "" || len(al.Dsts) == 1 {
		if dst == "" {
			dst = al.Dsts[0] // a reject alert's one destination
		}
		al.DstResource = r.Resolve(seenOn(func(v *Evidence) bool { return v.Dst == dst }), dst, at)
	}
}
