-- Prepaid ledger movements of a month per family and kind, with the units moved.
with movements as (
    select * from prepaid_ledger where month = $m
)
select family, kind, count(*) as movements, sum(units) as units
from movements
group by family, kind
order by family, kind
