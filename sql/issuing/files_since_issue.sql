-- Inbox files loaded since a month was issued (not among the files loaded at its
-- issue, by path and content), with the earliest month of the usage records they hold
-- (null: no usage records, e.g. a subscribers or subscriptions file).
with new_files as (
    select f.feed, f.path
    from loaded_files as f
    where not exists (
        select 1 from issued_loaded_files as i
        where i.month = $month and i.path = f.path and i.sha256 = f.sha256)
),
records as (
    select 'calls' as feed, call_id as record_id, _file from calls
    union all select 'interactions', interaction_id, _file from interactions
    union all select 'worklogs', worklog_id, _file from worklogs
)
select n.feed, n.path, min(u.month) as earliest_month
from new_files as n
left join records as r on r.feed = n.feed and r._file = n.path
left join usage as u on u.feed = r.feed and u.record_id = r.record_id
group by n.feed, n.path
order by n.path
