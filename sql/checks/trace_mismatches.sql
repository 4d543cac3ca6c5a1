-- Lines whose quantity differs from the sum of the quantities of the records traced to
-- them (rated_records), per subscriber and line code, for one billed month. Empty = ok.
-- At the issue both come from one rating relation (answering_charges.sql), so this holds by
-- construction; the check guards the stored tables afterwards: a trace lost, doubled or
-- edited, or a document changed, shows here.
with line_quantities as (
    select subscriber_id, code, sum(cast(quantity as decimal(38, 6))) as line_quantity
    from spec_lines
    where month = $month and kind = 'line' and code in (select distinct code from rated_records where month = $month)
    group by all
),
traced_quantities as (
    select subscriber_id, code, sum(quantity) as traced_quantity
    from rated_records
    where month = $month and subscriber_id in (select subscriber_id from spec_headers where month = $month)
    group by all
)
select
    coalesce(l.subscriber_id, t.subscriber_id) as subscriber_id,
    coalesce(l.code, t.code) as code,
    l.line_quantity,
    t.traced_quantity
from line_quantities as l
full outer join traced_quantities as t using (subscriber_id, code)
where coalesce(l.line_quantity, 0) <> coalesce(t.traced_quantity, 0)
order by all
