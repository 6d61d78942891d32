-- name: exfil-candidates
-- description: Source/destination pairs whose summed bytes exceed a threshold (the seed's exfiltration check)
-- param: threshold int 1000000 bytes a pair must exceed
-- param: limit int 100 how many pairs to show
SELECT srcaddr,
       dstaddr,
       sum(bytes)::BIGINT       AS total_bytes,
       count(*)                 AS flows,
       to_timestamp(min(start)) AS first_seen,
       to_timestamp(max("end")) AS last_seen
FROM flows
WHERE bytes IS NOT NULL
GROUP BY srcaddr, dstaddr
HAVING sum(bytes) > {{threshold}}
ORDER BY total_bytes DESC, srcaddr, dstaddr
LIMIT {{limit}}
