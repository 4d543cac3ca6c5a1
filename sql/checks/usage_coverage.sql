-- Every loaded usage record appears in `usage` exactly once, per feed: records loaded,
-- rows in usage, and records that are missing or doubled (a routing join that matched
-- two plan segments would double a record and bill it twice).
with loaded as (
    select 'calls' as feed, call_id as record_id from calls
    union all select 'interactions', interaction_id from interactions
    union all select 'worklogs', worklog_id from worklogs
),
loaded_counts as (
    select feed, count(*) as loaded from loaded group by feed
),
routed_counts as (
    select feed, record_id, count(*) as times from usage group by feed, record_id
),
compared as (
    select
        coalesce(loaded.feed, routed_counts.feed) as feed,
        routed_counts.times is null as missing,
        coalesce(routed_counts.times, 0) > 1 as doubled,
        loaded.record_id is null as unknown
    from loaded
    full join routed_counts using (feed, record_id)
)
select
    feeds.feed,
    coalesce(loaded_counts.loaded, 0) as loaded,
    (select count(*) from usage where usage.feed = feeds.feed) as routed,
    count(*) filter (where compared.missing) as missing,
    count(*) filter (where compared.doubled) as doubled,
    count(*) filter (where compared.unknown) as unknown
from (values ('calls'), ('interactions'), ('worklogs')) as feeds(feed)
left join loaded_counts using (feed)
left join compared using (feed)
group by feeds.feed, loaded_counts.loaded
order by feeds.feed
