-- Macros flowq defines in every DuckDB session (not a named query).
--
-- ip4_int(addr): an IPv4 address as a UBIGINT, NULL if addr is not IPv4.
CREATE OR REPLACE MACRO ip4_int(addr) AS (
    CASE WHEN len(addr) BETWEEN 7 AND 15 AND NOT contains(addr, ':') AND len(string_split(addr, '.')) = 4 THEN
        try_cast(split_part(addr, '.', 1) AS UTINYINT)::UBIGINT * 16777216
      + try_cast(split_part(addr, '.', 2) AS UTINYINT)::UBIGINT * 65536
      + try_cast(split_part(addr, '.', 3) AS UTINYINT)::UBIGINT * 256
      + try_cast(split_part(addr, '.', 4) AS UTINYINT)::UBIGINT
    END
);
-- cidr_bits(cidr): the prefix length of a CIDR (32 or 128 without one).
CREATE OR REPLACE MACRO cidr_bits(cidr) AS (
    coalesce(try_cast(nullif(split_part(cidr, '/', 2), '') AS INTEGER),
             CASE WHEN contains(cidr, ':') THEN 128 ELSE 32 END)
);
-- cidr4_ok(cidr): whether cidr is an IPv4 address or address/bits.
CREATE OR REPLACE MACRO cidr4_ok(cidr) AS (
    ip4_int(split_part(cidr, '/', 1)) IS NOT NULL
    AND len(string_split(cidr, '/')) <= 2
    AND (NOT contains(cidr, '/')
         OR coalesce(regexp_full_match(split_part(cidr, '/', 2), '[0-9]{1,2}')
                     AND try_cast(split_part(cidr, '/', 2) AS INTEGER) <= 32, false))
);
-- in_cidr(addr, cidr): whether addr lies in cidr, for IPv4 and IPv6. NULL
-- when addr or cidr is NULL or addr is '-', false for an address of the
-- other family or text that is not an address. A cidr that is not an
-- address or address/bits is an error, not false. IPv4 is pure SQL
-- (vectorised); IPv6 goes through the Go function ip6_in_cidr that flowq
-- registers.
CREATE OR REPLACE MACRO in_cidr(addr, cidr) AS (
    CASE
        WHEN cidr IS NULL THEN NULL
        WHEN contains(cidr, ':') THEN CASE WHEN addr = '-' THEN NULL ELSE ip6_in_cidr(addr, cidr) END
        WHEN NOT cidr4_ok(cidr) THEN error('in_cidr: malformed CIDR ''' || cidr || ''': want an address or address/bits, such as 10.0.11.0/24')
        WHEN addr IS NULL OR addr = '-' THEN NULL
        ELSE coalesce(
            ip4_int(addr) >> (32 - cidr_bits(cidr))
              = ip4_int(split_part(cidr, '/', 1)) >> (32 - cidr_bits(cidr)),
            false)
    END
);
-- ip4_net(addr, bits): the network number of addr's /bits subnet.
CREATE OR REPLACE MACRO ip4_net(addr, bits) AS ((ip4_int(addr) >> (32 - bits)) << (32 - bits));
-- ip4_text(n): a UBIGINT as a dotted IPv4 address.
CREATE OR REPLACE MACRO ip4_text(n) AS (concat_ws('.', n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255));
-- ip4_subnet(addr, bits): the IPv4 subnet of addr as 'a.b.c.d/bits'; other
-- addresses are returned as they are.
CREATE OR REPLACE MACRO ip4_subnet(addr, bits) AS (
    CASE WHEN ip4_int(addr) IS NULL THEN addr ELSE ip4_text(ip4_net(addr, bits)) || '/' || bits END
);
