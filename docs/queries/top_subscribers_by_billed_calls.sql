-- The ten subscribers with the most billed answered calls (pricing A3: the quantities of
-- the phone.calls.* lines — tiers, included, over — adjustments included), over every
-- issued month. quantity is DECIMAL(18,6): sum it as is. Columns: subscriber_id, name,
-- billed_calls, months, first_period, last_period.
select
    l.subscriber_id,
    s.name,
    sum(l.quantity) as billed_calls,
    count(distinct l.period) as months,
    min(l.period) as first_period,
    max(l.period) as last_period
from spec_lines as l
left join subscribers as s on s.subscriber_id = l.subscriber_id
where l.code like 'phone.calls.%'
group by l.subscriber_id, s.name
order by billed_calls desc, l.subscriber_id
limit 10
