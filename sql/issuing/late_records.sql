-- Usage records of the given issued months that arrived after the month was issued
-- (their file was not among the files loaded at issue), optionally only those loaded
-- since the last issue of any month ($since_month: its loaded files are excluded too).
with records as (
    select 'calls' as feed, call_id as record_id, _file from calls
    union all select 'interactions', interaction_id, _file from interactions
    union all select 'worklogs', worklog_id, _file from worklogs
),
month_records as (
    select u.feed, u.record_id, u.subscriber_id, u.month, r._file
    from usage as u
    join records as r using (feed, record_id)
    where list_contains($months, u.month) and u.family is distinct from 'none'
)
select feed, record_id, subscriber_id, month, _file
from month_records as m
where not exists (
        select 1 from issued_loaded_files as f where f.month = m.month and f.path = m._file)
    and ($since_month is null or not exists (
        select 1 from issued_loaded_files as f where f.month = $since_month and f.path = m._file))
order by month, subscriber_id, feed, record_id
