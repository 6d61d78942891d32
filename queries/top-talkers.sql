-- name: top-talkers
-- description: Source/destination pairs that moved the most bytes
-- param: limit int 10 how many pairs to show
SELECT srcaddr,
       dstaddr,
       sum(bytes)::BIGINT   AS bytes,
       sum(packets)::BIGINT AS packets,
       count(*)             AS flows
FROM flows
WHERE bytes IS NOT NULL
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT {{limit}}
