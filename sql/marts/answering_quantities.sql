-- Quantities of the `answering` family's usage lines for one month, per subscriber, line
-- code and price epoch, from the day blocks of answering_days.sql: interval arithmetic on
-- each day's block of ranks, allowance ranks, SMS draws and DIRECT minutes. The
-- per-record trace (answering_charges.sql → rated_records) must add up to these
-- quantities (checks/trace_mismatches.sql).
create or replace temp table answering_quantities as
with item_days as (
    select * from answering_days where kind in ('call', 'interaction')
),
tier_quantities as (
    -- the part of the day's block [ranked_before + 1, ranked_before + n] in each band
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
    select *, greatest(least(allowance_before + n, item_pool) - allowance_before, 0) as included
    from item_days
    where on_allowance
),
quantities as (
    select * from tier_quantities
    union all select subscriber_id, local_date, epoch,
                     case when service = 'phone' then 'phone.calls.included' else 'messaging.included' end, included
        from allowance_days
    union all select subscriber_id, local_date, epoch,
                     case when service = 'phone' then 'phone.calls.over' else 'messaging.over' end, n - included
        from allowance_days
    union all select subscriber_id, local_date, epoch, 'phone.talk_over_90s', talk_over_s
        from answering_days where kind = 'call'
    union all select subscriber_id, local_date, epoch, 'phone.' || kind || '.attempts', n
        from answering_days where kind in ('transfer', 'outbound')
    union all select subscriber_id, local_date, epoch, 'phone.' || kind || '.talk', talk_s
        from answering_days where kind in ('transfer', 'outbound')
    union all select subscriber_id, local_date, epoch, 'phone.foreign', foreign_s
        from answering_days
    union all select days.subscriber_id, local_date, epoch, 'messaging.aht', n * aht.excess_s
        from answering_days as days join aht_in_force as aht using (subscriber_id)
        where kind = 'interaction'
    union all select subscriber_id, local_date, epoch, 'reports.mail', mail_n
        from answering_days where kind = 'call' and not mail_unlimited
    -- SMS reports beyond the bundle: the part of the day's draws above the pool
    union all select subscriber_id, local_date, epoch, 'reports.sms',
                     case when in_bundle then greatest(sms_before + sms_n - greatest(sms_pool, sms_before), 0)
                          else sms_n end
        from answering_days where kind = 'call'
    union all select subscriber_id, local_date, epoch, 'training.hours', training_min
        from answering_days where kind = 'worklog'
    -- DIRECT minutes beyond the package: the part of the day's minutes above the pool
    union all select subscriber_id, local_date, epoch, 'direct.hours',
                     case when in_package then greatest(admin_before + admin_min - greatest(direct_pool, admin_before), 0)
                          else admin_min end
        from answering_days where kind = 'worklog'
)
select subscriber_id, code, epoch, min(local_date) as first_day, sum(quantity) as quantity
from quantities
where quantity > 0
group by all
