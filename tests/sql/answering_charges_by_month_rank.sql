-- Test reference (tests/test_answering.py): the trace as it was built before the day
-- blocks, ranking every record over the month with one window.
-- Per-record charges of the `answering` family for one month (variable `month`,
-- 'YYYY-MM'): each call, leg, interaction and work log it rates, with the line code it
-- goes to and its quantity (calls, seconds, minutes, reports). Ranks (A3/M1) and the
-- allowance and bundle pools (A2, R2, D1: drawn in time order) are window functions
-- over the whole month. This is the record → line trace (rated_records, the R3 appendix):
-- the lines are priced from answering_quantities.sql, computed per day, and the trace
-- check proves that both add up to the same quantities. Variable `trace_subscribers`
-- (a list, or null for all) limits it to some subscribers: ranks are per subscriber.
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
ranked_items as (
    -- calls and interactions, ranked per subscriber over the month (ties by id)
    -- only the columns needed after it: a window carries every column it is given
    select
        subscriber_id, feed, record_id, local_date, epoch, plan_product, plan, kind,
        row_number() over month_order as item_rank,
        -- the running count of allowance items (one window, one sort)
        count(*) filter (where list_contains(getvariable('allowance_plans'), plan)) over month_order as allowance_rank
    from source
    where kind = 'call' or kind = 'interaction'
    window month_order as (partition by subscriber_id, kind order by started_at, record_id
                           rows between unbounded preceding and current row)
),
item_charges as (
    select
        ranked_items.subscriber_id, feed, record_id, local_date, epoch, plan_product,
        case
            when list_contains(getvariable('allowance_plans'), plan) then
                case when allowance_rank <= coalesce(pools.pool, 0)
                     then service || '.included' else service || '.over' end
            else service || '.tier' || (1 + len(list_filter(
                case when kind = 'call' then getvariable('phone_tier_ends') else getvariable('messaging_tier_ends') end,
                lambda b: item_rank > b)))
        end as code,
        1 as quantity,
        case when kind = 'call' then 'A3' else 'M1' end as rule
    from (
        select *, case when kind = 'call' then 'phone' else 'messaging' end as service
        from ranked_items
    ) as ranked_items
    left join pools
        on pools.subscriber_id = ranked_items.subscriber_id and pools.pool_kind = ranked_items.service
),
item_codes as (
    select *, case when starts_with(code, 'phone.') and code like 'phone.tier%'
                   then replace(code, 'phone.tier', 'phone.calls.tier')
                   when code in ('phone.included', 'phone.over') then replace(code, 'phone.', 'phone.calls.')
                   else code end as line_code
    from item_charges
),
long_calls as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.talk_over_90s' as code, talk_s - getvariable('talk_over_s') as quantity, 'A4' as rule
    from source
    where kind = 'call' and talk_s > getvariable('talk_over_s')
),
leg_attempts as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.' || kind || '.attempts' as code, 1 as quantity, case when kind = 'transfer' then 'A5' else 'A6' end as rule
    from source
    where kind in ('transfer', 'outbound')
),
leg_talk as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.' || kind || '.talk' as code, talk_s as quantity, case when kind = 'transfer' then 'A5' else 'A6' end as rule
    from source
    where kind in ('transfer', 'outbound') and talk_s > 0
),
foreign_talk as (
    select source.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'phone.foreign' as code, talk_s as quantity, 'A7' as rule
    from source
    join subscriber_countries as countries using (subscriber_id)
    where list_contains(getvariable('foreign_legs'), kind) and talk_s > 0
      and coalesce(destination_country, '') <> '' and upper(destination_country) <> countries.country
),
aht_surcharge as (
    select source.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'messaging.aht' as code, aht.excess_s as quantity, 'M2' as rule
    from source
    join aht_in_force as aht using (subscriber_id)
    where kind = 'interaction' and aht.excess_s > 0
),
mail_reports as (
    select source.subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'reports.mail' as code, 1 as quantity, 'R1' as rule
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
           'reports.sms' as code, 1 as quantity, 'R2' as rule
    from sms_drawn
    left join pools on pools.subscriber_id = sms_drawn.subscriber_id and pools.pool_kind = 'sms'
    where not in_bundle or bundle_rank > coalesce(pools.pool, 0)
),
training as (
    select subscriber_id, feed, record_id, local_date, epoch, plan_product,
           'training.hours' as code, minutes as quantity, 'T1' as rule
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
           end as quantity,
           'D1' as rule
    from admin_drawn
    left join pools on pools.subscriber_id = admin_drawn.subscriber_id and pools.pool_kind = 'direct_minutes'
)
select subscriber_id, feed, record_id, local_date, epoch, plan_product, line_code as code, quantity, rule from item_codes
union all select * from long_calls
union all select * from leg_attempts
union all select * from leg_talk
union all select * from foreign_talk
union all select * from aht_surcharge
union all select * from mail_reports
union all select * from sms_charged
union all select * from training
union all select * from admin_charged where quantity > 0
