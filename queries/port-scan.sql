-- name: port-scan
-- description: Sources that tried many distinct ports on one host (mostly rejected)
-- param: min_ports int 10 distinct destination ports that make a scan
-- param: limit int 20 how many sources to show
SELECT srcaddr,
       dstaddr,
       count(DISTINCT dstport)                    AS ports,
       count(*)                                   AS flows,
       count(*) FILTER (WHERE action = 'REJECT')  AS rejects,
       to_timestamp(min(start))                   AS first_seen,
       to_timestamp(max("end"))                   AS last_seen
FROM flows
WHERE srcaddr IS NOT NULL AND dstport IS NOT NULL
GROUP BY srcaddr, dstaddr
HAVING count(DISTINCT dstport) >= {{min_ports}}
ORDER BY ports DESC, srcaddr, dstaddr
LIMIT {{limit}}
