-- Test reference (tests/test_answering.py): the A3/M1 item charges of the trace as they
-- were built before the day blocks, ranking every call and interaction over the month
-- with one window (ties by id), the allowance (A2) drawn by a running count. Only this
-- part differs from sql/marts/answering_charges.sql; the test compares these rows.
create or replace temp table answering_charges_by_month_rank as
with source as (
    select
        usage.*,
        split_part(plan_product, ':', 2) as plan,
        len(list_filter(parameters.price_epochs, lambda d: usage.local_date >= d)) as epoch
    from usage
    cross join answering_parameters as parameters
    where family = 'answering' and usage.month = parameters.month
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
        count(*) filter (where list_contains((select allowance_plans from answering_parameters), plan)) over month_order as allowance_rank
    from source
    where kind = 'call' or kind = 'interaction'
    window month_order as (partition by subscriber_id, kind order by started_at, record_id
                           rows between unbounded preceding and current row)
),
item_charges as (
    select
        ranked_items.subscriber_id, feed, record_id, local_date, epoch, plan_product,
        case
            when list_contains((select allowance_plans from answering_parameters), plan) then
                case when allowance_rank <= coalesce(pools.pool, 0)
                     then service || '.included' else service || '.over' end
            else service || '.tier' || (1 + len(list_filter(
                case when kind = 'call' then (select list(hi order by hi) from answering_bands where kind = 'call' and hi is not null) else (select list(hi order by hi) from answering_bands where kind = 'interaction' and hi is not null) end,
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
)
select subscriber_id, feed, record_id, local_date, epoch, line_code as code, quantity, rule
from item_codes
