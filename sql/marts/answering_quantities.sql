-- Quantities of the `answering` family's usage lines for one month (variable `month`),
-- per subscriber, line code and price epoch, computed from per-day counts and sums
-- rather than per record. Every rule depends on a record's local day (plan in force,
-- price epoch, options, DIRECT package) and, for ranks and pools, on the time order;
-- the days of one subscriber are in time order, so a day's records hold a contiguous
-- block of ranks [before + 1, before + n] and the tier, allowance, SMS-bundle and
-- DIRECT-package splits are interval arithmetic on those blocks. The per-record trace
-- (answering_charges.sql, rated_records) is computed separately and must add up to
-- these quantities (checks/trace_mismatches.sql).
create or replace temp table answering_quantities as
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
    -- one row per subscriber, kind, local day (and plan, one per day and service)
    select
        subscriber_id, kind, local_date, plan_product,
        count(*) as n,
        sum(talk_s - getvariable('talk_over_s')) filter (where kind = 'call' and talk_s > getvariable('talk_over_s')) as talk_over_s,
        sum(talk_s) filter (where talk_s > 0) as talk_s,
        sum(talk_s) filter (where is_foreign) as foreign_s,
        count(*) filter (where kind = 'call' and report = 'mail') as mail_n,
        count(*) filter (where kind = 'call' and report = 'sms') as sms_n,
        sum(minutes) filter (where kind = 'worklog' and activity = 'training') as training_min,
        sum(minutes) filter (where kind = 'worklog' and activity = 'admin') as admin_min
    from source
    group by all
),
dated as (
    select
        days.*,
        split_part(plan_product, ':', 2) as plan,
        len(list_filter(getvariable('price_epochs'), lambda d: days.local_date >= d)) as epoch,
        exists (select 1 from answering_spans as s
                where s.subscriber_id = days.subscriber_id and s.kind = 'mail_unlimited'
                  and days.local_date >= s.seg_from and days.local_date < s.seg_to) as mail_unlimited,
        exists (select 1 from answering_spans as s
                where s.subscriber_id = days.subscriber_id and s.kind = 'sms_bundle'
                  and days.local_date >= s.seg_from and days.local_date < s.seg_to) as in_bundle,
        exists (select 1 from answering_spans as s
                where s.subscriber_id = days.subscriber_id and s.kind = 'direct_package'
                  and days.local_date >= s.seg_from and days.local_date < s.seg_to) as in_package
    from days
),
item_days as (
    -- calls and interactions: the block of month ranks (over all plans, A3/M1) and of
    -- allowance ranks (items on allowance plans only) that each day holds
    select
        *,
        list_contains(getvariable('allowance_plans'), plan) as on_allowance,
        case when kind = 'call' then 'phone' else 'messaging' end as service,
        coalesce(sum(n) over month_order, 0) as ranked_before,
        coalesce(sum(case when list_contains(getvariable('allowance_plans'), plan) then n else 0 end)
                 over month_order, 0) as allowance_before
    from dated
    where kind in ('call', 'interaction')
    window month_order as (partition by subscriber_id, kind order by local_date
                           rows between unbounded preceding and 1 preceding)
),
tier_quantities as (
    select
        item_days.subscriber_id, item_days.local_date, item_days.epoch, bands.code,
        least(ranked_before + n, coalesce(bands.hi, ranked_before + n)) - greatest(ranked_before + 1, bands.lo) + 1
            as quantity
    from item_days
    join answering_bands as bands
        on bands.kind = item_days.kind
        and bands.lo <= item_days.ranked_before + item_days.n
        and (bands.hi is null or bands.hi >= item_days.ranked_before + 1)
    where not on_allowance
),
allowance_days as (
    select
        item_days.*,
        greatest(least(allowance_before + n, coalesce(pools.pool, 0)) - allowance_before, 0) as included
    from item_days
    left join answering_pools as pools
        on pools.subscriber_id = item_days.subscriber_id and pools.pool_kind = item_days.service
    where on_allowance
),
allowance_quantities as (
    select subscriber_id, local_date, epoch,
           case when service = 'phone' then 'phone.calls.included' else 'messaging.included' end as code,
           included as quantity
    from allowance_days
    union all
    select subscriber_id, local_date, epoch,
           case when service = 'phone' then 'phone.calls.over' else 'messaging.over' end as code,
           n - included as quantity
    from allowance_days
),
sms_days as (
    select
        dated.*,
        coalesce(sum(sms_n) over (partition by subscriber_id order by local_date
                                  rows between unbounded preceding and 1 preceding), 0) as drawn_before
    from dated
    where kind = 'call' and sms_n > 0 and in_bundle
),
direct_days as (
    select
        dated.*,
        coalesce(sum(admin_min) over (partition by subscriber_id order by local_date
                                      rows between unbounded preceding and 1 preceding), 0) as drawn_before
    from dated
    where kind = 'worklog' and admin_min > 0 and in_package
),
quantities as (
    select * from tier_quantities
    union all select * from allowance_quantities
    union all select subscriber_id, local_date, epoch, 'phone.talk_over_90s', talk_over_s
        from dated where kind = 'call'
    union all select subscriber_id, local_date, epoch, 'phone.' || kind || '.attempts', n
        from dated where kind in ('transfer', 'outbound')
    union all select subscriber_id, local_date, epoch, 'phone.' || kind || '.talk', talk_s
        from dated where kind in ('transfer', 'outbound')
    union all select subscriber_id, local_date, epoch, 'phone.foreign', foreign_s
        from dated
    union all select dated.subscriber_id, local_date, epoch, 'messaging.aht', n * aht.excess_s
        from dated join aht_in_force as aht using (subscriber_id)
        where kind = 'interaction'
    union all select subscriber_id, local_date, epoch, 'reports.mail', mail_n
        from dated where kind = 'call' and not mail_unlimited
    union all select subscriber_id, local_date, epoch, 'reports.sms', sms_n
        from dated where kind = 'call' and not in_bundle
    union all select sms_days.subscriber_id, local_date, epoch, 'reports.sms',
                     greatest(drawn_before + sms_n - greatest(coalesce(pools.pool, 0), drawn_before), 0)
        from sms_days
        left join answering_pools as pools on pools.subscriber_id = sms_days.subscriber_id and pools.pool_kind = 'sms'
    union all select subscriber_id, local_date, epoch, 'training.hours', training_min
        from dated where kind = 'worklog'
    union all select subscriber_id, local_date, epoch, 'direct.hours', admin_min
        from dated where kind = 'worklog' and not in_package
    union all select direct_days.subscriber_id, local_date, epoch, 'direct.hours',
                     greatest(drawn_before + admin_min - greatest(coalesce(pools.pool, 0), drawn_before), 0)
        from direct_days
        left join answering_pools as pools
            on pools.subscriber_id = direct_days.subscriber_id and pools.pool_kind = 'direct_minutes'
)
select subscriber_id, code, epoch, min(local_date) as first_day, sum(quantity) as quantity
from quantities
where quantity > 0
group by all
