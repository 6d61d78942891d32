package report

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// querier runs the charts' SQL over a flows view, restricted to
// [since, until) (Unix seconds) with buckets of bucket seconds. Columns the
// view lacks (formats without them) read as NULL.
type querier struct {
	db                   *sql.DB
	cols                 map[string]bool
	since, until, bucket int64
}

// describe records the view's columns.
func (q *querier) describe(ctx context.Context) error {
	rows, err := q.db.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE flows)")
	if err != nil {
		return fmt.Errorf("report: describe flows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return fmt.Errorf("report: describe flows: %w", err)
		}
		q.cols[c] = true
	}
	return rows.Err()
}

// col returns the column, or a typed NULL when the view lacks it.
func (q *querier) col(name, typ string) string {
	if q.cols[name] {
		return `"` + name + `"`
	}
	return "NULL::" + typ
}

// expand replaces {where} (the range), {bucket}, {b} (the bucket start of
// the record) and {col:type} placeholders.
func (q *querier) expand(s string) string {
	r := strings.NewReplacer(
		"{where}", fmt.Sprintf("start >= %d AND start < %d", q.since, q.until),
		"{b}", fmt.Sprintf("(start - %d) // %d * %d + %d", q.since, q.bucket, q.bucket, q.since),
		"{version}", q.col("version", "INTEGER"),
		"{flow_direction}", q.col("flow_direction", "VARCHAR"),
		"{traffic_path}", q.col("traffic_path", "INTEGER"),
		"{pkt_dst_aws_service}", q.col("pkt_dst_aws_service", "VARCHAR"),
		"{interface_id}", q.col("interface_id", "VARCHAR"),
		"{log_status}", q.col("log_status", "VARCHAR"),
	)
	return r.Replace(s)
}

// query runs a chart's SQL and calls scan for each row.
func (q *querier) query(ctx context.Context, sqlText string, scan func(*sql.Rows) error) error {
	rows, err := q.db.QueryContext(ctx, q.expand(sqlText))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// extent settles the range: given bounds are kept, open ones come from the
// data, widened to whole buckets. Without data or bounds it is the day
// before now's hour.
func (q *querier) extent(ctx context.Context, since, until time.Time) (time.Time, time.Time, error) {
	if !since.IsZero() && !until.IsZero() {
		return since.UTC(), until.UTC(), nil
	}
	var lo, hi sql.NullInt64
	where := "true"
	if !since.IsZero() {
		where = fmt.Sprintf("start >= %d", since.Unix())
	}
	if !until.IsZero() {
		where = fmt.Sprintf("start < %d", until.Unix())
	}
	if err := q.db.QueryRowContext(ctx, "SELECT min(start), max(start) FROM flows WHERE "+where).Scan(&lo, &hi); err != nil {
		return since, until, fmt.Errorf("report: range of the flows: %w", err)
	}
	if !lo.Valid {
		if until.IsZero() {
			until = time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
		}
		if since.IsZero() {
			since = until.Add(-24 * time.Hour)
		}
		return since.UTC(), until.UTC(), nil
	}
	first, last := time.Unix(lo.Int64, 0).UTC(), time.Unix(hi.Int64+1, 0).UTC()
	s, u := since, until
	if s.IsZero() {
		s = first
	}
	if u.IsZero() {
		u = last
	}
	b := BucketFor(u.Sub(s))
	if since.IsZero() {
		since = s.Truncate(b)
	}
	if until.IsZero() {
		until = u.Add(b - 1).Truncate(b)
	}
	return since.UTC(), until.UTC(), nil
}

const summarySQL = `
SELECT count(*),
	count(*) FILTER (WHERE {log_status} = 'OK'),
	count(*) FILTER (WHERE {log_status} = 'NODATA'),
	count(*) FILTER (WHERE {log_status} = 'SKIPDATA'),
	count(*) FILTER (WHERE action = 'ACCEPT'),
	count(*) FILTER (WHERE action = 'REJECT'),
	coalesce(sum(bytes), 0)::BIGINT, coalesce(sum(packets), 0)::BIGINT,
	count(DISTINCT {interface_id}),
	coalesce(min(start), 0), coalesce(max(start), 0),
	coalesce(string_agg(DISTINCT coalesce({version}, 0)::VARCHAR, ','), ''),
	count(nullif({flow_direction}, '-')), count({traffic_path}), count(nullif({pkt_dst_aws_service}, '-'))
FROM flows WHERE {where}`

func (q *querier) summary(ctx context.Context) (Summary, error) {
	var s Summary
	var versions string
	err := q.query(ctx, summarySQL, func(r *sql.Rows) error {
		return r.Scan(&s.Records, &s.OK, &s.NoData, &s.SkipData, &s.Accepted, &s.Rejected, &s.Bytes, &s.Packets,
			&s.Interfaces, &s.First, &s.Last, &versions, &s.WithDirection, &s.WithPath, &s.WithService)
	})
	s.Versions = []int{}
	for v := range strings.SplitSeq(versions, ",") {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			s.Versions = append(s.Versions, n)
		}
	}
	slices.Sort(s.Versions)
	return s, err
}

const trafficSQL = `
SELECT {b} AS t,
	count(*) FILTER (WHERE action = 'ACCEPT'),
	count(*) FILTER (WHERE action = 'REJECT'),
	coalesce(sum(bytes) FILTER (WHERE action = 'ACCEPT'), 0)::BIGINT,
	coalesce(sum(bytes) FILTER (WHERE action = 'REJECT'), 0)::BIGINT
FROM flows WHERE {where} AND action IS NOT NULL
GROUP BY t ORDER BY t`

// traffic returns one point per bucket, zeros included.
func (q *querier) traffic(ctx context.Context) ([]TrafficPoint, error) {
	got := map[int64]TrafficPoint{}
	err := q.query(ctx, trafficSQL, func(r *sql.Rows) error {
		var p TrafficPoint
		if err := r.Scan(&p.T, &p.AcceptFlows, &p.RejectFlows, &p.AcceptBytes, &p.RejectBytes); err != nil {
			return err
		}
		got[p.T] = p
		return nil
	})
	out := make([]TrafficPoint, 0, (q.until-q.since)/q.bucket+1)
	for t := q.since; t < q.until; t += q.bucket {
		p := got[t]
		p.T = t
		out = append(out, p)
	}
	return out, err
}

const directionSQL = `
SELECT {b} AS t, coalesce(nullif({flow_direction}, '-'), '') AS dir, coalesce({traffic_path}, 0) AS path,
	coalesce(sum(bytes), 0)::BIGINT
FROM flows WHERE {where} AND action IS NOT NULL
GROUP BY ALL ORDER BY t, dir, path`

func (q *querier) direction(ctx context.Context) ([]DirectionPoint, error) {
	out := []DirectionPoint{}
	err := q.query(ctx, directionSQL, func(r *sql.Rows) error {
		var p DirectionPoint
		if err := r.Scan(&p.T, &p.Direction, &p.Path, &p.Bytes); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

const pairsSQL = `
SELECT srcaddr, dstaddr, sum(bytes)::BIGINT AS b, sum(packets)::BIGINT, count(*)
FROM flows WHERE {where} AND action IS NOT NULL
GROUP BY srcaddr, dstaddr ORDER BY b DESC, srcaddr, dstaddr LIMIT %d`

func (q *querier) topPairs(ctx context.Context, n int) ([]Pair, error) {
	out := []Pair{}
	err := q.query(ctx, fmt.Sprintf(pairsSQL, n), func(r *sql.Rows) error {
		var p Pair
		if err := r.Scan(&p.Src, &p.Dst, &p.Bytes, &p.Packets, &p.Flows); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

const hostsSQL = `
WITH f AS (SELECT srcaddr, dstaddr, bytes FROM flows WHERE {where} AND action IS NOT NULL),
h AS (
	SELECT srcaddr AS addr, sum(bytes) AS sent, 0 AS recv, count(*) AS n FROM f GROUP BY srcaddr
	UNION ALL
	SELECT dstaddr, 0, sum(bytes), count(*) FROM f GROUP BY dstaddr)
SELECT addr, sum(sent)::BIGINT AS s, sum(recv)::BIGINT AS r, sum(n)::BIGINT
FROM h GROUP BY addr ORDER BY s + r DESC, addr LIMIT %d`

func (q *querier) topHosts(ctx context.Context, n int) ([]Host, error) {
	out := []Host{}
	err := q.query(ctx, fmt.Sprintf(hostsSQL, n), func(r *sql.Rows) error {
		var h Host
		if err := r.Scan(&h.Addr, &h.Sent, &h.Received, &h.Flows); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	return out, err
}
