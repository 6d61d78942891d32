-- name: exfil-candidates
-- description: Pairs sending more than a threshold out of the watched network, in the exfiltration detector's scope (egress only, AWS services and server replies left out)
-- param: watch cidr 10.0.0.0/16 the watched network (flowq detect --watch): sources inside, destinations outside
-- param: threshold int 1000000 bytes a pair must exceed over the time range
-- param: limit int 100 how many pairs to show
-- The scope of flowq detect's exfiltration detector: the NAT-translated
-- addresses (pkt-srcaddr, pkt-dstaddr) when logged; accepted OK records;
-- no traffic to AWS services (pkt-dst-aws-service); no server replies
-- (SYN-ACK, or from a port below an ephemeral destination port); a flow
-- between two watched ENIs counted once, on the sender's side. Bytes are
-- summed over the whole time range (--since/--until), where the detector
-- judges each window: narrow the range to compare.
WITH scoped AS (
    SELECT coalesce(nullif(pkt_srcaddr, '-'), srcaddr) AS src,
           coalesce(nullif(pkt_dstaddr, '-'), dstaddr) AS dst,
           bytes, start, "end", dstport
    FROM flows
    WHERE bytes IS NOT NULL
      AND coalesce(log_status, 'OK') = 'OK'
      AND coalesce(action, 'ACCEPT') = 'ACCEPT'
      AND coalesce(nullif(pkt_dst_aws_service, '-'), '') = ''
      AND NOT coalesce(tcp_flags & 18 = 18, false)
      AND NOT coalesce(srcport < dstport AND dstport >= 1024, false)
)
SELECT src                      AS srcaddr,
       dst                      AS dstaddr,
       sum(bytes)::BIGINT       AS total_bytes,
       count(*)                 AS flows,
       list_sort(list_distinct(list(dstport)))[1:8] AS ports,
       to_timestamp(min(start)) AS first_seen,
       to_timestamp(max("end")) AS last_seen
FROM scoped
WHERE in_cidr(src, {{watch}}) AND NOT in_cidr(dst, {{watch}})
GROUP BY src, dst
HAVING sum(bytes) > {{threshold}}
ORDER BY total_bytes DESC, srcaddr, dstaddr
LIMIT {{limit}}
