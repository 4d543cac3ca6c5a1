-- Revenue (before VAT) per billed month, tariff family and currency, from the issued
-- lines. A line belongs to the month it bills (`period`), not to the document it is
-- printed on (`month`): adjustment lines (kind 'adjustment', rule X3) correct an earlier
-- month on a later document. amount is exact DECIMAL(18,2): sum it as is; never add
-- EUR and DKK. Columns: period, family, currency, revenue, own_lines, adjustment_lines,
-- adjustments.
select
    l.period,
    l.family,
    h.currency,
    sum(l.amount) as revenue,
    count(*) filter (where l.kind = 'line') as own_lines,
    count(*) filter (where l.kind = 'adjustment') as adjustment_lines,
    coalesce(sum(l.amount) filter (where l.kind = 'adjustment'), 0) as adjustments
from spec_lines as l
join spec_headers as h on h.month = l.month and h.spec_number = l.spec_number
group by l.period, l.family, h.currency
order by l.period, l.family, h.currency
