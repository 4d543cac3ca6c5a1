-- The tasks a klippekort ledger draws (pricing.md K3): every work log rated by
-- `klippekort` (routing is done in `usage`) with a local date before $end. Klip are
-- computed exactly in Python (minutes / 60 plus the on-site travel time, ceiled).
-- Parameters: $end (date, exclusive).
select
    subscriber_id, feed, record_id, started_at, local_at, local_date, activity, minutes,
    consultant, description
from usage
where family = 'klippekort' and kind = 'worklog' and local_date < $end
order by subscriber_id, started_at, feed, record_id
