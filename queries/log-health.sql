-- name: log-health
-- description: Per ENI: OK, NODATA and SKIPDATA records, last traffic, and ENIs silent for a while
-- param: silent_minutes int 60 an ENI with no OK record in this many minutes before the newest record is silent
WITH latest AS (SELECT max("end") AS t FROM flows)
SELECT interface_id,
       count(*) FILTER (WHERE log_status = 'OK')       AS ok,
       count(*) FILTER (WHERE log_status = 'NODATA')   AS nodata,
       count(*) FILTER (WHERE log_status = 'SKIPDATA') AS skipdata,
       to_timestamp(max("end") FILTER (WHERE log_status = 'OK')) AS last_traffic,
       coalesce(max("end") FILTER (WHERE log_status = 'OK') < (SELECT t FROM latest) - {{silent_minutes}} * 60, true) AS silent
FROM flows
GROUP BY interface_id
ORDER BY silent DESC, skipdata DESC, nodata DESC, interface_id
