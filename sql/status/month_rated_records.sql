-- Trace rows (a record traced to each line it counts in) of the month per family and rule.
with month_records as (
    select * from rated_records where month = $m
)
select family, rule, count(*) as trace_rows, sum(quantity) as quantity
from month_records
group by family, rule
order by family, rule
