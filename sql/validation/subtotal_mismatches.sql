-- Specifications of the month whose subtotal is not the sum of their lines (warehouse),
-- with that sum and the number of lines.
select h.subscriber_id, h.subtotal, coalesce(sum(l.amount), 0), count(l.amount)
from spec_headers h
left join spec_lines l on l.month = h.month and l.spec_number = h.spec_number
where h.month = $m
group by all
having h.subtotal <> coalesce(sum(l.amount), 0)
