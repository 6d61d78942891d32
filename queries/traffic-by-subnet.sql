-- name: traffic-by-subnet
-- description: Bytes sent and received per subnet of the VPC
-- param: within cidr 10.0.0.0/16 only addresses in this range (the VPC)
-- param: prefix int 24 subnet size as an IPv4 prefix length (8 to 32)
WITH sides AS (
    SELECT ip4_subnet(srcaddr, {{prefix}}) AS subnet, bytes AS sent, 0 AS received, 1 AS flows
    FROM flows WHERE bytes IS NOT NULL AND in_cidr(srcaddr, {{within}})
    UNION ALL
    SELECT ip4_subnet(dstaddr, {{prefix}}), 0, bytes, 0
    FROM flows WHERE bytes IS NOT NULL AND in_cidr(dstaddr, {{within}})
)
SELECT subnet,
       sum(sent)::BIGINT     AS bytes_sent,
       sum(received)::BIGINT AS bytes_received,
       sum(flows)::BIGINT    AS out_flows
FROM sides
GROUP BY subnet
ORDER BY bytes_sent + bytes_received DESC, subnet
