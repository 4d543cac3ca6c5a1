-- Quarantined records with their file, line and reason (`ccmeter quarantine`), one feed
-- or all, at most $limit.
with chosen as (
    select feed, file, line, rule, reason
    from quarantine
    where $feed is null or feed = $feed
)
select feed, file, line, rule, reason
from chosen
order by feed, file, line nulls first
limit $limit
