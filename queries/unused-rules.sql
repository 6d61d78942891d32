-- name: unused-rules
-- description: Security-group rules that no ACCEPTed flow in the time range used (least privilege, measured; needs flowq inventory sync)
-- param: limit int 1000 how many rules to show
-- A rule is used by a flow when the flow's interface end is in the rule's
-- group (the destination for ingress, the source for egress), the
-- protocol and destination port fall in the rule, and the other end is in
-- its CIDR, its referenced group or its prefix list. A packet a NAT
-- instance forwards (logged on its interface with neither address its own)
-- uses its group's ingress from the source and egress to the destination.
-- Rules and interfaces are those of the newest inventory snapshot; an
-- address in its subnets that no interface holds was an interface that has
-- gone (a Fargate task, a Lambda), which may have been in any group: the
-- rules its flows may have used count as used. Without a single
-- ACCEPTed record in the range (a flow log of REJECTs only) the query
-- fails rather than call every rule unused.
WITH members AS (
    SELECT DISTINCT address, unnest(security_groups) AS group_id FROM interfaces
),
accepted AS (
    SELECT DISTINCT srcaddr, dstaddr, dstport, protocol FROM flows
    WHERE action = 'ACCEPT' AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL
),
gone AS (
    SELECT DISTINCT a.addr FROM (SELECT srcaddr AS addr FROM accepted UNION SELECT dstaddr FROM accepted) a
    WHERE a.addr NOT IN (SELECT address FROM interfaces)
      AND EXISTS (SELECT 1 FROM subnets n WHERE in_cidr(a.addr, n.cidr))
),
nat_members AS (
    SELECT DISTINCT eni, unnest(security_groups) AS group_id FROM interfaces WHERE nat
),
forwarded AS (
    SELECT DISTINCT f.interface_id AS eni, f.srcaddr, f.dstaddr, f.dstport, f.protocol
    FROM flows f
    WHERE f.action = 'ACCEPT' AND f.srcaddr IS NOT NULL AND f.dstaddr IS NOT NULL
      AND f.interface_id IN (SELECT eni FROM nat_members)
      AND NOT EXISTS (SELECT 1 FROM interfaces i WHERE i.eni = f.interface_id AND i.address IN (f.srcaddr, f.dstaddr))
),
candidates AS (
    SELECT r.rule, r.cidr, r.peer_group, r.prefix_list,
           CASE WHEN r.direction = 'ingress' THEN f.srcaddr ELSE f.dstaddr END AS peer
    FROM security_group_rules r
    JOIN members m ON m.group_id = r.group_id
    JOIN accepted f ON m.address = CASE WHEN r.direction = 'ingress' THEN f.dstaddr ELSE f.srcaddr END
    WHERE (r.protocol = -1 OR r.protocol = f.protocol)
      AND (r.protocol NOT IN (6, 17) OR r.from_port = -1 OR f.dstport BETWEEN r.from_port AND r.to_port)
    UNION ALL
    SELECT r.rule, r.cidr, r.peer_group, r.prefix_list,
           CASE WHEN r.direction = 'ingress' THEN f.srcaddr ELSE f.dstaddr END AS peer
    FROM security_group_rules r
    JOIN nat_members m ON m.group_id = r.group_id
    JOIN forwarded f ON f.eni = m.eni
    WHERE (r.protocol = -1 OR r.protocol = f.protocol)
      AND (r.protocol NOT IN (6, 17) OR r.from_port = -1 OR f.dstport BETWEEN r.from_port AND r.to_port)
    UNION ALL
    SELECT r.rule, r.cidr, r.peer_group, r.prefix_list,
           CASE WHEN r.direction = 'ingress' THEN f.srcaddr ELSE f.dstaddr END AS peer
    FROM security_group_rules r
    JOIN accepted f ON CASE WHEN r.direction = 'ingress' THEN f.dstaddr ELSE f.srcaddr END IN (SELECT addr FROM gone)
    WHERE (r.protocol = -1 OR r.protocol = f.protocol)
      AND (r.protocol NOT IN (6, 17) OR r.from_port = -1 OR f.dstport BETWEEN r.from_port AND r.to_port)
),
used AS (
    SELECT DISTINCT c.rule FROM candidates c
    WHERE (c.cidr IS NOT NULL AND in_cidr(c.peer, c.cidr))
       OR (c.peer_group IS NOT NULL AND EXISTS (SELECT 1 FROM members p WHERE p.group_id = c.peer_group AND p.address = c.peer))
       OR (c.peer_group IS NOT NULL AND c.peer IN (SELECT addr FROM gone))
       OR (c.prefix_list IS NOT NULL AND EXISTS (SELECT 1 FROM prefix_lists p WHERE p.prefix_list = c.prefix_list AND in_cidr(c.peer, p.cidr)))
),
guard AS (
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM flows WHERE action = 'ACCEPT')
                THEN error('unused-rules: no ACCEPTed flow in the time range (a flow log of REJECTs only, or no traffic): it cannot tell which rules flows used')
           END AS failed
)
SELECT r.group_id,
       r.group_name,
       r.direction,
       r.rule,
       r.description
FROM security_group_rules r, guard g
WHERE g.failed IS NULL AND r.rule NOT IN (SELECT rule FROM used)
ORDER BY r.group_name, r.direction, r.rule
LIMIT {{limit}}
