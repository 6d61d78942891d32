package report

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// groupExpr is the SQL that puts an address in a sankey group: its /24 for
// private IPv4 (RFC 1918 and 100.64.0.0/10, the VPC's own subnets), "IPv6
// private" for unique-local IPv6, "unknown" without an address, else
// "internet".
func groupExpr(col string) string {
	return strings.ReplaceAll(`CASE
	WHEN @ IS NULL OR @ = '-' THEN 'unknown'
	WHEN regexp_matches(@, '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.)')
		THEN regexp_extract(@, '^([0-9]+\.[0-9]+\.[0-9]+)\.', 1) || '.0/24'
	WHEN regexp_matches(lower(@), '^f[cd][0-9a-f]{0,2}:') THEN 'IPv6 private'
	ELSE 'internet' END`, "@", col)
}

// sankeySQL groups the bytes from source group to destination group; a
// destination AWS names as a service (pkt-dst-aws-service) is that service.
func sankeySQL() string {
	return `
SELECT ` + groupExpr("srcaddr") + ` AS src,
	CASE WHEN nullif({pkt_dst_aws_service}, '-') IS NOT NULL THEN 'AWS ' || {pkt_dst_aws_service}
	ELSE ` + groupExpr("dstaddr") + ` END AS dst,
	coalesce(sum(bytes), 0)::BIGINT AS b, count(*)
FROM flows WHERE {where} AND action IS NOT NULL
GROUP BY ALL ORDER BY b DESC, src, dst`
}

// otherGroup collects the groups past the busiest.
const otherGroup = "other"

// sankey returns the links between the n busiest source and destination
// groups, the rest folded into "other".
func (q *querier) sankey(ctx context.Context, n int) ([]Link, error) {
	var all []Link
	err := q.query(ctx, sankeySQL(), func(r *sql.Rows) error {
		var l Link
		if err := r.Scan(&l.From, &l.To, &l.Bytes, &l.Flows); err != nil {
			return err
		}
		all = append(all, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return foldLinks(all, n), nil
}

// foldLinks keeps the n busiest groups on each side (by bytes, then
// name) and merges the others into "other".
func foldLinks(all []Link, n int) []Link {
	keep := func(side func(Link) string) map[string]bool {
		tot := map[string]int64{}
		for _, l := range all {
			tot[side(l)] += l.Bytes
		}
		names := make([]string, 0, len(tot))
		for k := range tot {
			names = append(names, k)
		}
		slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(tot[b], tot[a]), cmp.Compare(a, b)) })
		m := map[string]bool{}
		for i, k := range names {
			if i < n || len(names) == n+1 {
				m[k] = true
			}
		}
		return m
	}
	from, to := keep(func(l Link) string { return l.From }), keep(func(l Link) string { return l.To })
	merged := map[[2]string]Link{}
	for _, l := range all {
		if !from[l.From] {
			l.From = otherGroup
		}
		if !to[l.To] {
			l.To = otherGroup
		}
		k := [2]string{l.From, l.To}
		m := merged[k]
		m.From, m.To, m.Bytes, m.Flows = l.From, l.To, m.Bytes+l.Bytes, m.Flows+l.Flows
		merged[k] = m
	}
	out := make([]Link, 0, len(merged))
	for _, l := range merged {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Link) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return out
}

const heatmapSQL = `
WITH r AS (
	SELECT coalesce(dstport, -1) AS port, coalesce(protocol, -1) AS proto, (start %% 86400) // 3600 AS h
	FROM flows WHERE {where} AND action = 'REJECT'),
top AS (SELECT port, proto, count(*) AS n FROM r GROUP BY ALL ORDER BY n DESC, port, proto LIMIT %d)
SELECT r.port, r.proto, r.h, count(*) FROM r JOIN top ON r.port = top.port AND r.proto = top.proto
GROUP BY ALL`

// heatmap returns the n destination ports with the most rejected records,
// by hour of day.
func (q *querier) heatmap(ctx context.Context, n int) (Heatmap, error) {
	rows := map[[2]int]*HeatRow{}
	err := q.query(ctx, fmt.Sprintf(heatmapSQL, n), func(r *sql.Rows) error {
		var port, proto, h int
		var c int64
		if err := r.Scan(&port, &proto, &h, &c); err != nil {
			return err
		}
		k := [2]int{port, proto}
		if rows[k] == nil {
			rows[k] = &HeatRow{Port: port, Protocol: proto}
		}
		rows[k].Hours[h] += c
		rows[k].Total += c
		return nil
	})
	hm := Heatmap{Rows: []HeatRow{}}
	for _, r := range rows {
		hm.Rows = append(hm.Rows, *r)
	}
	slices.SortFunc(hm.Rows, func(a, b HeatRow) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return hm, err
}

const healthSQL = `
SELECT coalesce({interface_id}, '-') AS eni, {b} AS t,
	count(*) FILTER (WHERE {log_status} = 'OK' OR {log_status} IS NULL),
	count(*) FILTER (WHERE {log_status} = 'NODATA'),
	count(*) FILTER (WHERE {log_status} = 'SKIPDATA'),
	min(start), max(start)
FROM flows WHERE {where} GROUP BY ALL`

// health returns each interface's log status, worst first: SKIPDATA
// (records were lost), NODATA (nothing but NODATA records), SILENT (no
// record in the range's last max(3 buckets, 1 hour)), then OK.
func (q *querier) health(ctx context.Context) ([]Interface, error) {
	nb := int((q.until - q.since) / q.bucket)
	ifs := map[string]*Interface{}
	strips := map[string][]byte{}
	err := q.query(ctx, healthSQL, func(r *sql.Rows) error {
		var eni string
		var t, ok, nd, sd, lo, hi int64
		if err := r.Scan(&eni, &t, &ok, &nd, &sd, &lo, &hi); err != nil {
			return err
		}
		in := ifs[eni]
		if in == nil {
			in = &Interface{ENI: eni, First: lo, Last: hi}
			ifs[eni] = in
			strips[eni] = []byte(strings.Repeat(".", nb))
		}
		in.OK, in.NoData, in.SkipData = in.OK+ok, in.NoData+nd, in.SkipData+sd
		in.First, in.Last = min(in.First, lo), max(in.Last, hi)
		c := byte('o')
		switch {
		case sd > 0:
			c = 's'
		case ok == 0:
			c = 'n'
		}
		if i := int((t - q.since) / q.bucket); i >= 0 && i < nb {
			strips[eni][i] = c
		}
		return nil
	})
	silentAfter := max(3*q.bucket, 3600)
	out := make([]Interface, 0, len(ifs))
	for eni, in := range ifs {
		in.Strip = string(strips[eni])
		switch {
		case in.SkipData > 0:
			in.Status = "SKIPDATA"
		case in.OK == 0:
			in.Status = "NODATA"
		case in.Last < q.until-silentAfter:
			in.Status = "SILENT"
		default:
			in.Status = "OK"
		}
		out = append(out, *in)
	}
	rank := map[string]int{"SKIPDATA": 0, "NODATA": 1, "SILENT": 2, "OK": 3}
	slices.SortFunc(out, func(a, b Interface) int {
		return cmp.Or(cmp.Compare(rank[a.Status], rank[b.Status]), cmp.Compare(a.ENI, b.ENI))
	})
	return out, err
}
