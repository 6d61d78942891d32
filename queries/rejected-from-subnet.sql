-- name: rejected-from-subnet
-- description: Rejected flows whose source is in a subnet (a real CIDR test, not LIKE '10.0.11%')
-- param: cidr cidr 10.0.11.0/24 source subnet, IPv4 or IPv6
-- param: limit int 100 how many rows to show
SELECT srcaddr,
       dstaddr,
       dstport,
       protocol,
       count(*)                 AS rejects,
       sum(packets)::BIGINT     AS packets,
       to_timestamp(min(start)) AS first_seen,
       to_timestamp(max("end")) AS last_seen
FROM flows
WHERE action = 'REJECT'
  AND in_cidr(srcaddr, {{cidr}})
GROUP BY srcaddr, dstaddr, dstport, protocol
ORDER BY rejects DESC, srcaddr, dstaddr, dstport, protocol
LIMIT {{limit}}
