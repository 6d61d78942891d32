-- name: port-scan
-- description: Watched sources that tried many distinct ports of one host within a window: the port-scan detector's alerts, with the scan's own probes and time span (TCP, UDP, SCTP; replies left out)
-- param: watch cidr 10.0.0.0/16 sources judged (flowq detect --watch or --scan-src)
-- param: min_ports int 10 distinct destination ports that make a scan (flowq detect --scan-ports)
-- param: window_minutes int 60 the window the ports are counted in (flowq detect --window)
-- param: limit int 20 how many scans to show
-- The scope of flowq detect's port-scan detector: the NAT-translated source
-- when logged, OK records, accepted or rejected, protocols with ports, no
-- server replies (SYN-ACK, or from a port below an ephemeral destination
-- port: a database answering its clients is not a scan). Each row is one
-- window, described as the detector's alert describes it: every port
-- counts, but probes, bytes, rejects and first_seen/last_seen are the
-- scan's own records, those of the ports tried at most twice (a port in
-- regular use between the two hosts, such as a database's, neither counts
-- as the scan nor stretches it; every record when no port qualifies);
-- last_seen ends with the window at the latest.
WITH scoped AS (
    SELECT coalesce(nullif(pkt_srcaddr, '-'), srcaddr) AS src,
           coalesce(nullif(pkt_dstaddr, '-'), dstaddr) AS dst,
           dstport, action, bytes, start, "end",
           start - start % ({{window_minutes}} * 60) AS win
    FROM flows
    WHERE dstport IS NOT NULL AND start IS NOT NULL
      AND coalesce(log_status, 'OK') = 'OK'
      AND coalesce(protocol IN (6, 17, 132), true)
      AND NOT coalesce(tcp_flags & 18 = 18, false)
      AND NOT coalesce(srcport < dstport AND dstport >= 1024, false)
),
ports AS (
    SELECT src, dst, win, dstport, count(*) AS n, min(start) AS t,
           max(least(coalesce("end", start), win + {{window_minutes}} * 60)) AS t_end,
           coalesce(sum(bytes), 0) AS b,
           count(*) FILTER (WHERE action = 'REJECT') AS rejects
    FROM scoped
    WHERE in_cidr(src, {{watch}})
    GROUP BY src, dst, win, dstport
)
SELECT src                                     AS srcaddr,
       dst                                     AS dstaddr,
       to_timestamp(win)                       AS window_start,
       count(*)                                AS ports,
       coalesce(sum(n) FILTER (WHERE n <= 2), sum(n))::BIGINT              AS probes,
       coalesce(sum(rejects) FILTER (WHERE n <= 2), sum(rejects))::BIGINT  AS rejects,
       coalesce(sum(b) FILTER (WHERE n <= 2), sum(b))::BIGINT              AS bytes,
       to_timestamp(coalesce(min(t) FILTER (WHERE n <= 2), min(t)))         AS first_seen,
       to_timestamp(coalesce(max(t_end) FILTER (WHERE n <= 2), max(t_end))) AS last_seen
FROM ports
GROUP BY src, dst, win
HAVING count(*) >= {{min_ports}}
ORDER BY ports DESC, srcaddr, dstaddr, window_start
LIMIT {{limit}}
