-- name: rejects-by-source
-- description: Sources with the most rejected flows, with how many ports and hosts they tried
-- param: limit int 20 how many sources to show
SELECT srcaddr,
       count(*)                              AS rejects,
       count(DISTINCT dstaddr)               AS targets,
       count(DISTINCT dstport)               AS ports,
       to_timestamp(min(start))              AS first_seen,
       to_timestamp(max("end"))              AS last_seen
FROM flows
WHERE action = 'REJECT'
GROUP BY srcaddr
ORDER BY rejects DESC, srcaddr
LIMIT {{limit}}
