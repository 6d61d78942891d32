-- name: flows-for-ip
-- description: Every flow to or from one address, newest first
-- param: ip ip required the address (IPv4 or IPv6)
-- param: limit int 1000 how many flows to show
SELECT to_timestamp(start) AS start,
       interface_id,
       srcaddr,
       srcport,
       dstaddr,
       dstport,
       protocol,
       packets,
       bytes,
       action
FROM flows
WHERE srcaddr = {{ip}} OR dstaddr = {{ip}}
ORDER BY start DESC, interface_id, srcaddr, srcport, dstaddr, dstport
LIMIT {{limit}}
