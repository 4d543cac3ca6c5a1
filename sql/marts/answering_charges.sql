-- Per-record charges of the `answering` family for one month (variable `month`,
-- 'YYYY-MM'): each call, leg, interaction and work log it rates, with the line code it
-- goes to and its quantity (calls, seconds, minutes, reports). This is the record → line
-- trace (rated_records, the R3 appendix); the lines are priced from
-- answering_quantities.sql and the trace check proves that both add up to the same
-- quantities. Ranks (A3/M1) and the allowance (A2) come from the day blocks of
-- answering_days.sql: a whole day falls in one tier or one side of the pool, and only
-- the records of a day that crosses an edge are ranked (within that day), so the month
-- is never sorted record by record. The SMS bundle (R2) and DIRECT minutes (D1) are
-- drawn in time order by windows over their few records. Variable `trace_subscribers`
-- (a list, or null for all) limits it to some subscribers.
create or replace temp table answering_charges as
with source as (
    select
        usage.*,
        split_part(plan_product, ':', 2) as plan,
        len(list_filter(getvariable('price_epochs'), lambda d: usage.local_date >= d)) as epoch
    from usage
    where family = 'answering' and month = getvariable('month')
      and (getvariable('trace_subscribers') is null
           or list_contains(getvariable('trace_subscribers'), usage.subscriber_id))
),
spans as (
    select * from answering_spans
),
pools as (
    select * from answering_pools
),
item_days as (
    -- the day blocks of calls and interactions; a record needs its own rank within the
    -- day only where the block crosses a tier edge or the allowance pool
    select
        subscriber_id, kind, local_date, plan_product, service, on_allowance, ranked_before,
        allowance_before, item_pool, tier_first,
        case when on_allowance then allowance_before < item_pool and allowance_before + n > item_pool
             else tier_first <> tier_last end as straddles
    from answering_days
    where kind = 'call' or kind = 'interaction'
),
item_records as not materialized (  -- each consumer joins again: a 9 M-row materialised CTE costs GiBs, a join ~1 s
    select
        source.subscriber_id, source.feed, source.record_id, source.started_at, source.local_date,
        source.epoch, source.plan_product, source.kind, item_days.service, item_days.on_allowance,
        item_days.ranked_before, item_days.allowance_before, item_days.item_pool,
        item_days.tier_first, item_days.straddles
    from source
    join item_days
        on item_days.subscriber_id = source.subscriber_id and item_days.kind = source.kind
        and item_days.local_date = source.local_date
        and item_days.plan_product is not distinct from source.plan_product
),
whole_days as (
    select
        subscriber_id, feed, record_id, local_date, epoch, plan_product, kind,
        case when on_allowance then allowance_before < item_pool end as included,
        case when not on_allowance then tier_first end as tier
    from item_records
    where not straddles
),
straddling_days as (
    -- ranks within the day (ties by id): the month rank is ranked_before + this rank
    select
        *,
        row_number() over (partition by subscriber_id, kind, local_date
                           order by started_at, record_id) as day_rank
    from item_records
    where straddles
),
split_days as (
    select
        subscriber_id, feed, record_id, local_date, epoch, plan_product, kind,
        case when on_allowance then allowance_before + day_rank <= item_pool end as included,
        case when not on_allowance then 1 + len(list_filter(
            case when kind = 'call' then getvariable('phone_tier_ends') else getvariable('messaging_tier_ends') end,
            lambda b: ranked_before + day_rank > b)) end as tier
    from straddling_days
),
item_charges as (
    -- a band's code from the registry's bands (answering_bands), the allowance's by kind
    select
        items.subscriber_id, items.feed, items.record_id, items.local_date, items.epoch, items.plan_product,
        coalesce(bands.code, case
            when items.kind = 'call' and items.included then 'phone.calls.included'
            when items.kind = 'call' then 'phone.calls.over'
            when items.included then 'messaging.included'
            else 'messaging.over' end) as code,
        1 as quantity
    from (select * from whole_days union all select * from split_days) as items
    left join answering_bands as bands on bands.kind = items.kind and bands.tier = items.tier
),
long_calls as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.talk_over_90s' as code, talk_s - getvariable('talk_over_s') as quantity
    from source
    where kind = 'call' and talk_s > getvariable('talk_over_s')
),
leg_attempts as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.' || kind || '.attempts' as code, 1 as quantity
    from source
    where kind in ('transfer', 'outbound')
),
leg_talk as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.' || kind || '.talk' as code, talk_s as quantity
    from source
    where kind in ('transfer', 'outbound') and talk_s > 0
),
foreign_talk as (
    select source.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.foreign' as code, talk_s as quantity
    from source
    join subscriber_countries as countries using (subscriber_id)
    where list_contains(getvariable('foreign_legs'), kind) and talk_s > 0
      and coalesce(destination_country, '') <> '' and upper(destination_country) <> countries.country
),
aht_surcharge as (
    select source.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'messaging.aht' as code, aht.excess_s as quantity
    from source
    join aht_in_force as aht using (subscriber_id)
    where kind = 'interaction' and aht.excess_s > 0
),
mail_reports as (
    select source.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'reports.mail' as code, 1 as quantity
    from source
    where kind = 'call' and report = 'mail'
      and not exists (
          select 1 from spans
          where spans.subscriber_id = source.subscriber_id and spans.kind = 'mail_unlimited'
            and source.local_date >= spans.seg_from and source.local_date < spans.seg_to)
),
sms_reports as (
    select
        source.*,
        exists (
            select 1 from spans
            where spans.subscriber_id = source.subscriber_id and spans.kind = 'sms_bundle'
              and source.local_date >= spans.seg_from and source.local_date < spans.seg_to) as in_bundle
    from source
    where kind = 'call' and report = 'sms'
),
sms_drawn as (
    select
        sms_reports.*,
        case when in_bundle then row_number() over (partition by subscriber_id, in_bundle order by started_at, record_id) end as bundle_rank
    from sms_reports
),
sms_charged as (
    select sms_drawn.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'reports.sms' as code, 1 as quantity
    from sms_drawn
    left join pools on pools.subscriber_id = sms_drawn.subscriber_id and pools.pool_kind = 'sms'
    where not in_bundle or bundle_rank > coalesce(pools.pool, 0)
),
training as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'training.hours' as code, minutes as quantity
    from source
    where kind = 'worklog' and activity = 'training'
),
admin_logs as (
    select
        source.*,
        exists (
            select 1 from spans
            where spans.subscriber_id = source.subscriber_id and spans.kind = 'direct_package'
              and source.local_date >= spans.seg_from and source.local_date < spans.seg_to) as in_package
    from source
    where kind = 'worklog' and activity = 'admin'
),
admin_drawn as (
    select
        admin_logs.*,
        case when in_package then sum(minutes) over (
            partition by subscriber_id, in_package order by started_at, record_id
            rows between unbounded preceding and 1 preceding) end as drawn_before
    from admin_logs
),
admin_charged as (
    select admin_drawn.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'direct.hours' as code,
           case when not in_package then minutes
                else minutes - least(minutes, greatest(coalesce(pools.pool, 0) - coalesce(drawn_before, 0), 0))
           end as quantity
    from admin_drawn
    left join pools on pools.subscriber_id = admin_drawn.subscriber_id and pools.pool_kind = 'direct_minutes'
),
charges as (
    select * from item_charges
    union all select * from long_calls
    union all select * from leg_attempts
    union all select * from leg_talk
    union all select * from foreign_talk
    union all select * from aht_surcharge
    union all select * from mail_reports
    union all select * from sms_charged
    union all select * from training
    union all select * from admin_charged where quantity > 0
)
-- the rule of each code is the charge-code registry's (charge_codes), written once; a
-- code missing there leaves the rule null, which rated_records refuses (not null)
select charges.*, charge_codes.rule
from charges
left join charge_codes using (code)
