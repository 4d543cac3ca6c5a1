-- iso_instant(text): the instant an ISO 8601 timestamp text names, or null when the text
-- is not one with a UTC offset or Z (data-contract.md: every timestamp carries its offset).
-- A cheap shape gate first (date, `T` or space, an offset sign or Z after the seconds), so
-- a naive local time is never read as UTC; then DuckDB's strict cast, null on failure.
-- Used for every timestamp column of the staging checks (sql/staging/staging_*.sql).
create or replace temp macro iso_instant(t) as
    case
        when length(t) >= 20 and substr(t, 11, 1) in ('T', ' ')
             and (upper(right(t, 1)) = 'Z' or contains(substr(t, 20), '+') or contains(substr(t, 20), '-'))
            then try_cast(upper(t) as timestamptz)
    end
