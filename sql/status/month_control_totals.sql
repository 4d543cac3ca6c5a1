-- Control totals of an issued month per currency (Dagster metadata, `ccmeter bill`).
with headers as (
    select * from spec_headers where month = $m
)
select currency, count(*) as specifications, sum(subtotal) as subtotal, sum(adjustments) as adjustments,
    sum(vat) as vat, sum(total) as amount
from headers
group by currency
order by currency
