-- utc_offset_s(text, instant): the UTC offset, in seconds, that an ISO 8601 timestamp text
-- carried (its wall clock `YYYY-MM-DD?HH:MM:SS` minus the instant it names). The staging
-- checks (sql/staging/staging_*.sql) compare it with the plausibility limit `max_utc_offset_s` (±14:00 by default):
-- DuckDB itself accepts any offset, so `+25:00` would shift the record by 25 hours.
create or replace temp macro utc_offset_s(t, instant) as
    (epoch_us(try_cast(substr(t, 1, 19) as timestamp)) - epoch_us(date_trunc('second', instant))) // 1000000
