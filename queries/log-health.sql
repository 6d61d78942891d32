-- name: log-health
-- description: Per ENI: OK, NODATA and SKIPDATA records, last traffic, and whether it has been silent, judged at the current time
-- param: silent_minutes int 60 an ENI with no OK record in this many minutes before the judging time is silent
-- param: at string now the time silence is judged at: now, or an instant such as 2026-11-20T12:00:00Z (to look back)
-- A stopped pipeline makes every ENI silent: the newest record is not the
-- clock. Records are read within --since/--until; an ENI without OK
-- records in that range is silent.
WITH judged AS (
    SELECT CASE WHEN {{at}} = 'now' THEN epoch(now())::BIGINT
                ELSE epoch(CAST({{at}} AS TIMESTAMPTZ))::BIGINT END AS t
)
SELECT interface_id,
       count(*) FILTER (WHERE log_status = 'OK')       AS ok,
       count(*) FILTER (WHERE log_status = 'NODATA')   AS nodata,
       count(*) FILTER (WHERE log_status = 'SKIPDATA') AS skipdata,
       to_timestamp(max("end") FILTER (WHERE log_status = 'OK')) AS last_traffic,
       coalesce(max("end") FILTER (WHERE log_status = 'OK') < (SELECT t FROM judged) - {{silent_minutes}} * 60, true) AS silent
FROM flows
GROUP BY interface_id
ORDER BY silent DESC, skipdata DESC, nodata DESC, interface_id
