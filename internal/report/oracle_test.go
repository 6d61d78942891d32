package report

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// oracle recomputes each chart from the raw view (DuckDB's CSV reader over
// the text the lake was made from) with SQL written apart from the
// report's, and compares.
type oracle struct {
	t                    *testing.T
	f                    *fixture
	since, until, bucket int64
}

// rows runs q (with %[1]d = since, %[2]d = until, %[3]d = bucket) and
// returns every row as strings.
func (o oracle) rows(q string, args ...any) [][]string {
	o.t.Helper()
	all := append([]any{o.since, o.until, o.bucket}, args...)
	rs, err := o.f.sql().Query(fmt.Sprintf(q, all...))
	if err != nil {
		o.t.Fatalf("oracle: %v\n%s", err, fmt.Sprintf(q, all...))
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out [][]string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			o.t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v != nil {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		o.t.Fatal(err)
	}
	return out
}

func (o oracle) diff(what string, got, want any) {
	o.t.Helper()
	if d := cmp.Diff(got, want); d != "" {
		o.t.Errorf("%s (-report +oracle):\n%s", what, d)
	}
}

const inRange = "start BETWEEN %[1]d AND %[2]d - 1"

func (o oracle) checkSummary(s Summary) {
	want := o.rows(`SELECT count(*), sum(CASE log_status WHEN 'OK' THEN 1 ELSE 0 END), sum(CASE log_status WHEN 'NODATA' THEN 1 ELSE 0 END),
		sum(CASE log_status WHEN 'SKIPDATA' THEN 1 ELSE 0 END), sum(CASE action WHEN 'REJECT' THEN 1 ELSE 0 END), sum(bytes),
		count(DISTINCT interface_id) FROM raw WHERE ` + inRange)[0]
	got := []string{fmt.Sprint(s.Records), fmt.Sprint(s.OK), fmt.Sprint(s.NoData), fmt.Sprint(s.SkipData), fmt.Sprint(s.Rejected), fmt.Sprint(s.Bytes), fmt.Sprint(s.Interfaces)}
	for i := range want {
		if want[i] == "" {
			want[i] = "0"
		}
	}
	o.diff("summary", got, want)
}

// checkTraffic compares the non-empty buckets of [since, until) and the
// number of points.
func (o oracle) checkTraffic(ps []TrafficPoint, since, until int64) {
	o.t.Helper()
	if n := (until - since) / o.bucket; int64(len(ps)) != n {
		o.t.Errorf("%d traffic points, want %d", len(ps), n)
	}
	var got [][]string
	for _, p := range ps {
		if p.AcceptFlows+p.RejectFlows > 0 {
			got = append(got, []string{fmt.Sprint(p.T), fmt.Sprint(p.AcceptFlows), fmt.Sprint(p.RejectFlows), fmt.Sprint(p.AcceptBytes), fmt.Sprint(p.RejectBytes)})
		}
	}
	want := o.rows(`SELECT %[4]d + floor((start - %[4]d) / %[3]d)::BIGINT * %[3]d AS b,
		sum((action = 'ACCEPT')::INT), sum((action = 'REJECT')::INT),
		sum(CASE WHEN action = 'ACCEPT' THEN bytes ELSE 0 END), sum(CASE WHEN action = 'REJECT' THEN bytes ELSE 0 END)
		FROM raw WHERE start >= %[4]d AND start < %[5]d AND action IN ('ACCEPT', 'REJECT') GROUP BY b ORDER BY b`, since, until)
	o.diff(fmt.Sprintf("traffic %d-%d", since, until), got, want)
}

func (o oracle) checkDirection(ps []DirectionPoint) {
	var got [][]string
	for _, p := range ps {
		got = append(got, []string{fmt.Sprint(p.T), p.Direction, fmt.Sprint(p.Path), fmt.Sprint(p.Bytes)})
	}
	want := o.rows(`SELECT %[1]d + floor((start - %[1]d) / %[3]d)::BIGINT * %[3]d AS b, ifnull(flow_direction, ''), ifnull(traffic_path, 0), sum(bytes)
		FROM raw WHERE ` + inRange + ` AND action IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
	o.diff("direction", got, want)
}

func (o oracle) checkPairs(ps []Pair) {
	var got [][]string
	for _, p := range ps {
		got = append(got, []string{p.Src, p.Dst, fmt.Sprint(p.Bytes), fmt.Sprint(p.Packets), fmt.Sprint(p.Flows)})
	}
	want := o.rows(`SELECT srcaddr, dstaddr, sum(bytes) AS total, sum(packets), count(*) FROM raw WHERE `+inRange+` AND action IS NOT NULL
		GROUP BY 1, 2 ORDER BY total DESC, 1, 2 LIMIT %[4]d`, DefaultTop)
	o.diff("top pairs", got, want)
}

func (o oracle) checkHosts(hs []Host) {
	var got [][]string
	for _, h := range hs {
		got = append(got, []string{h.Addr, fmt.Sprint(h.Sent), fmt.Sprint(h.Received), fmt.Sprint(h.Flows)})
	}
	// Each record once per end, addressed by a list unnested.
	want := o.rows(`SELECT e.addr, sum(CASE WHEN e.side = 0 THEN bytes ELSE 0 END) AS s, sum(CASE WHEN e.side = 1 THEN bytes ELSE 0 END) AS r, count(*)
		FROM (SELECT bytes, unnest([{'addr': srcaddr, 'side': 0}, {'addr': dstaddr, 'side': 1}]) AS e FROM raw WHERE `+inRange+` AND action IS NOT NULL)
		GROUP BY 1 ORDER BY s + r DESC, 1 LIMIT %[4]d`, DefaultTop)
	o.diff("top hosts", got, want)
}

// checkSankey groups every record in Go (net/netip) and folds the groups
// the report left out into "other".
func (o oracle) checkSankey(ls []Link) {
	kept := map[string]bool{}
	got := map[string]int64{}
	for _, l := range ls {
		kept["from "+l.From], kept["to "+l.To] = true, true
		got[l.From+" → "+l.To] += l.Bytes
	}
	want := map[string]int64{}
	for _, r := range o.rows(`SELECT srcaddr, dstaddr, ifnull(pkt_dst_aws_service, ''), sum(bytes) FROM raw WHERE ` + inRange + ` AND action IS NOT NULL GROUP BY 1, 2, 3`) {
		from, to := groupOf(r[0]), groupOf(r[1])
		if r[2] != "" {
			to = "AWS " + r[2]
		}
		if !kept["from "+from] {
			from = otherGroup
		}
		if !kept["to "+to] {
			to = otherGroup
		}
		var b int64
		fmt.Sscan(r[3], &b)
		want[from+" → "+to] += b
	}
	o.diff("sankey", got, want)
}

func (o oracle) checkHeatmap(hm Heatmap) {
	got := map[string]int64{}
	for _, r := range hm.Rows {
		for h, c := range r.Hours {
			if c > 0 {
				got[fmt.Sprintf("%d/%d %02d", r.Port, r.Protocol, h)] = c
			}
		}
	}
	// The top ports by rejected records, then their hours with the
	// session's UTC clock.
	top := o.rows(`SELECT dstport, protocol, count(*) AS n FROM raw WHERE `+inRange+` AND action = 'REJECT' GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT %[4]d`, DefaultTop)
	want := map[string]int64{}
	for _, p := range top {
		for _, r := range o.rows(`SELECT hour(make_timestamp(start * 1000000)), count(*) FROM raw WHERE `+inRange+` AND action = 'REJECT'
			AND dstport = %[4]s AND protocol = %[5]s GROUP BY 1`, p[0], p[1]) {
			var h int
			var c int64
			fmt.Sscan(r[0], &h)
			fmt.Sscan(r[1], &c)
			want[fmt.Sprintf("%s/%s %02d", p[0], p[1], h)] = c
		}
	}
	o.diff("heatmap", got, want)
}

func (o oracle) checkHealth(ifs []Interface) {
	var got [][]string
	for _, in := range ifs {
		cells := 0
		for _, c := range in.Strip {
			if c != '.' {
				cells++
			}
		}
		got = append(got, []string{in.ENI, fmt.Sprint(in.OK), fmt.Sprint(in.NoData), fmt.Sprint(in.SkipData), fmt.Sprint(in.First), fmt.Sprint(in.Last), fmt.Sprint(cells)})
	}
	want := o.rows(`SELECT interface_id, count(*) FILTER (log_status = 'OK'), count(*) FILTER (log_status = 'NODATA'), count(*) FILTER (log_status = 'SKIPDATA'),
		min(start), max(start), count(DISTINCT (start - %[1]d) // %[3]d) FROM raw WHERE ` + inRange + ` GROUP BY 1`)
	sort.Slice(got, func(i, j int) bool { return got[i][0] < got[j][0] })
	sort.Slice(want, func(i, j int) bool { return want[i][0] < want[j][0] })
	o.diff("health", got, want)
	for _, in := range ifs {
		if len(in.Strip) != int((o.until-o.since)/o.bucket) {
			o.t.Errorf("%s: strip of %d cells, want %d", in.ENI, len(in.Strip), (o.until-o.since)/o.bucket)
		}
	}
}
