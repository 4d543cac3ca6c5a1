-- Row count and content digest of every table the routed `usage` is built from: a
-- changed, added or removed row changes the digest (metering/routed_usage.py).
with subscribers_digest as (
    select 'subscribers' as table_name, count(*) as row_count, coalesce(sum(hash(t)), 0) as digest
    from subscribers as t
),
versions_digest as (
    select 'subscription_versions', count(*), coalesce(sum(hash(t)), 0) from subscription_versions as t
),
calls_digest as (
    select 'calls', count(*), coalesce(sum(hash(t)), 0) from calls as t
),
interactions_digest as (
    select 'interactions', count(*), coalesce(sum(hash(t)), 0) from interactions as t
),
worklogs_digest as (
    select 'worklogs', count(*), coalesce(sum(hash(t)), 0) from worklogs as t
)
select * from subscribers_digest
union all select * from versions_digest
union all select * from calls_digest
union all select * from interactions_digest
union all select * from worklogs_digest
order by table_name
