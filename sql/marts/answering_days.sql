-- One row per subscriber, kind of record and local day of the `answering` family's month
-- (variable `month`): counts and sums of the day's records, and where the day stands in
-- the month. Every answering rule depends on a record's local day (plan in force, price
-- epoch, options, DIRECT package) and, for ranks and pools, on the time order; the days
-- of one subscriber are in time order, so a day's records hold a contiguous block of
-- month ranks [ranked_before + 1, ranked_before + n] (A3/M1), of allowance ranks (A2),
-- of SMS-bundle draws (R2) and of DIRECT-package minutes (D1). Lines are priced from
-- these blocks (answering_quantities.sql); the per-record trace ranks records only
-- inside the few days whose block crosses a tier or pool boundary (answering_charges.sql).
create or replace temp table answering_days as
with source as (
    select
        usage.subscriber_id, usage.kind, usage.local_date, usage.plan_product, usage.talk_s,
        usage.minutes, usage.activity, usage.report,
        list_contains(getvariable('foreign_legs'), usage.kind) and usage.talk_s > 0
            and coalesce(usage.destination_country, '') <> ''
            and upper(usage.destination_country) <> countries.country as is_foreign
    from usage
    left join subscriber_countries as countries using (subscriber_id)
    where usage.family = 'answering' and usage.month = getvariable('month')
),
days as (
    -- sums as sum(case …) rather than sum(…) filter (…): measured at 3 M legs, the
    -- group-by takes 0.53 instead of 0.62 CPU s
    select
        subscriber_id, kind, local_date, plan_product,
        count(*) as n,
        sum(case when kind = 'call' and talk_s > getvariable('talk_over_s')
                 then talk_s - getvariable('talk_over_s') end) as talk_over_s,
        sum(case when talk_s > 0 then talk_s end) as talk_s,
        sum(case when is_foreign then talk_s end) as foreign_s,
        count(*) filter (where kind = 'call' and report = 'mail') as mail_n,
        count(*) filter (where kind = 'call' and report = 'sms') as sms_n,
        sum(case when kind = 'worklog' and activity = 'training' then minutes end) as training_min,
        sum(case when kind = 'worklog' and activity = 'admin' then minutes end) as admin_min
    from source
    group by all
),
span_days as (
    -- the subscriber's days inside an option or package span (answering_spans is small):
    -- an equality join below instead of a range lookup per day block
    select
        spans.subscriber_id, days.local_date,
        bool_or(spans.kind = 'mail_unlimited') as mail_unlimited,
        bool_or(spans.kind = 'sms_bundle') as in_bundle,
        bool_or(spans.kind = 'direct_package') as in_package
    from answering_spans as spans
    join (select distinct subscriber_id, local_date from days) as days
        on days.subscriber_id = spans.subscriber_id
        and days.local_date >= spans.seg_from and days.local_date < spans.seg_to
    group by all
),
dated as (
    select
        days.*,
        case kind when 'call' then 'phone' when 'interaction' then 'messaging' end as service,
        list_contains(getvariable('allowance_plans'), split_part(plan_product, ':', 2)) as on_allowance,
        len(list_filter(getvariable('price_epochs'), lambda d: days.local_date >= d)) as epoch,
        coalesce(span_days.mail_unlimited, false) as mail_unlimited,
        coalesce(span_days.in_bundle, false) as in_bundle,
        coalesce(span_days.in_package, false) as in_package
    from days
    left join span_days using (subscriber_id, local_date)
),
positioned as (
    select
        dated.*,
        coalesce(sum(n) over earlier_days, 0) as ranked_before,
        coalesce(sum(case when on_allowance then n else 0 end) over earlier_days, 0) as allowance_before,
        coalesce(sum(case when in_bundle then sms_n else 0 end) over earlier_days, 0) as sms_before,
        coalesce(sum(case when in_package then admin_min else 0 end) over earlier_days, 0) as admin_before
    from dated
    window earlier_days as (partition by subscriber_id, kind order by local_date
                            rows between unbounded preceding and 1 preceding)
)
select
    positioned.*,
    -- the graduated tier of the day's first and last rank (equal: the whole day is in it)
    1 + len(list_filter(case when kind = 'call' then getvariable('phone_tier_ends') else getvariable('messaging_tier_ends') end,
                        lambda e: ranked_before + 1 > e)) as tier_first,
    1 + len(list_filter(case when kind = 'call' then getvariable('phone_tier_ends') else getvariable('messaging_tier_ends') end,
                        lambda e: ranked_before + n > e)) as tier_last,
    coalesce(item_pools.pool, 0) as item_pool,
    coalesce(sms_pools.pool, 0) as sms_pool,
    coalesce(direct_pools.pool, 0) as direct_pool
from positioned
left join answering_pools as item_pools
    on item_pools.subscriber_id = positioned.subscriber_id and item_pools.pool_kind = positioned.service
left join answering_pools as sms_pools
    on sms_pools.subscriber_id = positioned.subscriber_id and sms_pools.pool_kind = 'sms'
left join answering_pools as direct_pools
    on direct_pools.subscriber_id = positioned.subscriber_id and direct_pools.pool_kind = 'direct_minutes'
