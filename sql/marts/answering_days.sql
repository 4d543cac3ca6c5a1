-- One row per subscriber, kind of item (call or interaction) and local day of the
-- `answering` family's month (answering_parameters): where the day's items stand in the
-- month. The days of one subscriber are in time order, so a day's items hold a
-- contiguous block of month ranks [ranked_before + 1, ranked_before + n] (A3/M1) and of
-- allowance ranks (A2). answering_charges.sql gives every item of a day its band or its
-- side of the pool from this block, and ranks items one by one only inside the few days
-- whose block crosses a band edge or the pool, so the month is never sorted record by
-- record.
create or replace temp table answering_days as
with parameters as (
    select * from answering_parameters
),
days as (
    select usage.subscriber_id, usage.kind, usage.local_date, usage.plan_product, count(*) as n
    from usage
    where usage.family = 'answering' and usage.month = (select month from parameters)
      and usage.kind in ('call', 'interaction')
    group by all
),
dated as (
    select
        days.*,
        case kind when 'call' then 'phone' else 'messaging' end as service,
        list_contains(parameters.allowance_plans, split_part(plan_product, ':', 2)) as on_allowance
    from days
    cross join parameters
),
positioned as (
    select
        dated.*,
        coalesce(sum(n) over earlier_days, 0) as ranked_before,
        coalesce(sum(case when on_allowance then n else 0 end) over earlier_days, 0) as allowance_before
    from dated
    window earlier_days as (partition by subscriber_id, kind order by local_date
                            rows between unbounded preceding and 1 preceding)
)
select
    blocks.*,
    first_band.code as first_band_code,
    last_band.code as last_band_code,
    coalesce(pools.pool, 0) as item_pool
from positioned as blocks
left join answering_bands as first_band
    on first_band.kind = blocks.kind and in_band(blocks.ranked_before + 1, first_band.lo, first_band.hi)
left join answering_bands as last_band
    on last_band.kind = blocks.kind and in_band(blocks.ranked_before + blocks.n, last_band.lo, last_band.hi)
left join answering_pools as pools
    on pools.subscriber_id = blocks.subscriber_id and pools.pool_kind = blocks.service
