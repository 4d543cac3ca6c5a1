-- The rating relation of the `answering` family for one month (answering_parameters):
-- every call, leg, interaction and work log it rates, with the line code it goes to, its
-- quantity (calls, seconds, minutes, reports) and its price epoch (T1). Each rule of the family is written here once: the lines are this
-- relation summed per subscriber, code and epoch (answering_quantities.sql), the
-- per-record trace (rated_records) and the R3 appendix are its rows.
-- Ranks (A3/M1) and the allowance (A2) come from the day blocks of answering_days.sql: a
-- whole day falls in one band or one side of the pool, and only the items of a day that
-- crosses an edge are ranked (within that day), so the month is never sorted record by
-- record. The SMS bundle (R2) and DIRECT minutes (D1) are drawn in time order by windows
-- over their few records.
-- A table macro, evaluated where it is read (nothing materialised: at 100 M call legs the
-- relation has ~190 M rows): answering_charges(null) for every subscriber (the lines, the
-- trace), answering_charges([...]) for some (the R3 appendix) — filtered at the source.
create or replace temp macro answering_charges(subscribers) as table
with parameters as (
    select * from answering_parameters
),
-- not materialized: each branch scans usage again, cheaper than keeping every row of the
-- month (the lines' sums 1.7 → 1.2 CPU s at 3 M legs; 110 M rows out of core at 100 M)
source as not materialized (
    select
        usage.subscriber_id, usage.feed, usage.record_id, usage.kind, usage.started_at, usage.local_date,
        usage.plan_product, usage.talk_s, usage.minutes, usage.activity, usage.report,
        usage.destination_country,
        len(list_filter(parameters.price_epochs, lambda d: usage.local_date >= d)) as epoch
    from usage
    cross join parameters
    where usage.family = 'answering' and usage.month = parameters.month
      and (subscribers is null or list_contains(subscribers, usage.subscriber_id))
),
item_days as (
    -- a record needs its own rank within the day only where the day's block crosses a
    -- band edge or the allowance pool
    select
        subscriber_id, kind, local_date, plan_product, on_allowance, ranked_before, allowance_before,
        item_pool, first_band_code,
        case when on_allowance then allowance_before < item_pool and allowance_before + n > item_pool
             else first_band_code is distinct from last_band_code end as straddles
    from answering_days
),
item_records as not materialized (  -- each consumer joins again: a 9 M-row materialised CTE costs GiBs, a join ~1 s
    select
        source.subscriber_id, source.feed, source.record_id, source.started_at, source.local_date,
        source.epoch, source.kind, item_days.on_allowance, item_days.ranked_before,
        item_days.allowance_before, item_days.item_pool, item_days.first_band_code, item_days.straddles
    from source
    join item_days
        on item_days.subscriber_id = source.subscriber_id and item_days.kind = source.kind
        and item_days.local_date = source.local_date
        and item_days.plan_product is not distinct from source.plan_product
),
whole_days as (
    select
        subscriber_id, feed, record_id, local_date, epoch, kind,
        case when on_allowance then allowance_before < item_pool end as included,
        case when not on_allowance then first_band_code end as band_code
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
        days.subscriber_id, days.feed, days.record_id, days.local_date, days.epoch, days.kind,
        case when days.on_allowance then days.allowance_before + days.day_rank <= days.item_pool end as included,
        bands.code as band_code
    from straddling_days as days
    left join answering_bands as bands
        on not days.on_allowance and bands.kind = days.kind
        and in_band(days.ranked_before + days.day_rank, bands.lo, bands.hi)
),
item_charges as (
    -- a band's code from the registry's bands (answering_bands), the allowance's by kind
    select
        subscriber_id, feed, record_id, local_date, epoch,
        coalesce(band_code, case
            when kind = 'call' and included then 'phone.calls.included'
            when kind = 'call' then 'phone.calls.over'
            when included then 'messaging.included'
            else 'messaging.over' end) as code,
        1 as quantity
    from (select * from whole_days union all select * from split_days)
),
long_calls as (
    select subscriber_id, feed, record_id, local_date, epoch,
           'phone.talk_over_90s' as code, talk_s - parameters.talk_over_s as quantity
    from source
    cross join parameters
    where kind = 'call' and talk_s > parameters.talk_over_s
),
leg_attempts as (
    select subscriber_id, feed, record_id, local_date, epoch,
           'phone.' || kind || '.attempts' as code, 1 as quantity
    from source
    where kind in ('transfer', 'outbound')
),
leg_talk as (
    select subscriber_id, feed, record_id, local_date, epoch,
           'phone.' || kind || '.talk' as code, talk_s as quantity
    from source
    where kind in ('transfer', 'outbound') and talk_s > 0
),
foreign_talk as (
    select source.subscriber_id, feed, record_id, local_date, epoch,
           'phone.foreign' as code, talk_s as quantity
    from source
    cross join parameters
    join subscriber_countries as countries using (subscriber_id)
    where list_contains(parameters.foreign_legs, kind) and talk_s > 0
      and coalesce(destination_country, '') <> '' and upper(destination_country) <> countries.country
),
aht_surcharge as (
    select source.subscriber_id, feed, record_id, local_date, epoch,
           'messaging.aht' as code, aht.excess_s as quantity
    from source
    join aht_in_force as aht using (subscriber_id)
    where kind = 'interaction' and aht.excess_s > 0
),
drawn_records as not materialized (
    -- the records an option or a package may cover: reports (R1/R2) and admin work (D1)
    select * from source
    where (kind = 'call' and report in ('mail', 'sms')) or (kind = 'worklog' and activity = 'admin')
),
span_days as (
    -- their days inside an option or package span (answering_spans is small): an
    -- equality join below instead of a range lookup per record
    select
        spans.subscriber_id, days.local_date,
        bool_or(spans.kind = 'mail_unlimited') as mail_unlimited,
        bool_or(spans.kind = 'sms_bundle') as in_bundle,
        bool_or(spans.kind = 'direct_package') as in_package
    from answering_spans as spans
    join (select distinct subscriber_id, local_date from drawn_records) as days
        on days.subscriber_id = spans.subscriber_id
        and days.local_date >= spans.seg_from and days.local_date < spans.seg_to
    group by all
),
covered_records as not materialized (
    select
        drawn_records.*,
        coalesce(span_days.mail_unlimited, false) as mail_unlimited,
        coalesce(span_days.in_bundle, false) as in_bundle,
        coalesce(span_days.in_package, false) as in_package
    from drawn_records
    left join span_days using (subscriber_id, local_date)
),
mail_reports as (
    select subscriber_id, feed, record_id, local_date, epoch, 'reports.mail' as code, 1 as quantity
    from covered_records
    where kind = 'call' and report = 'mail' and not mail_unlimited
),
sms_drawn as (
    select
        *,
        case when in_bundle then row_number() over (partition by subscriber_id, in_bundle
                                                    order by started_at, record_id) end as bundle_rank
    from covered_records
    where kind = 'call' and report = 'sms'
),
sms_charged as (
    select sms_drawn.subscriber_id, feed, record_id, local_date, epoch, 'reports.sms' as code, 1 as quantity
    from sms_drawn
    left join answering_pools as pools
        on pools.subscriber_id = sms_drawn.subscriber_id and pools.pool_kind = 'sms'
    where not in_bundle or bundle_rank > coalesce(pools.pool, 0)
),
training as (
    select subscriber_id, feed, record_id, local_date, epoch, 'training.hours' as code, minutes as quantity
    from source
    where kind = 'worklog' and activity = 'training'
),
admin_drawn as (
    select
        *,
        case when in_package then sum(minutes) over (
            partition by subscriber_id, in_package order by started_at, record_id
            rows between unbounded preceding and 1 preceding) end as drawn_before
    from covered_records
    where kind = 'worklog' and activity = 'admin'
),
admin_charged as (
    select admin_drawn.subscriber_id, feed, record_id, local_date, epoch, 'direct.hours' as code,
           case when not in_package then minutes
                else minutes - least(minutes, greatest(coalesce(pools.pool, 0) - coalesce(drawn_before, 0), 0))
           end as quantity
    from admin_drawn
    left join answering_pools as pools
        on pools.subscriber_id = admin_drawn.subscriber_id and pools.pool_kind = 'direct_minutes'
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
-- only what the lines and the trace need (the rule of a code is the registry's,
-- charge_codes, joined where the trace is kept)
select subscriber_id, feed, record_id, epoch, code, quantity
from charges
