-- Issued lines for `$m`: the own lines of each specification of the month and every
-- adjustment line for it on later specifications, per subscriber in issue order.
select subscriber_id, code, description, quantity, unit, unit_price, price_unit,
       cast(amount as varchar), cast(vat_rate as varchar), family
from spec_lines
where period = $m
order by subscriber_id, month, line_no
