-- Specifications whose subtotal differs from the sum of their lines, or whose total
-- differs from subtotal + VAT, for one billed month. Empty = ok.
with line_sums as (
    select spec_number, sum(amount) as line_sum
    from spec_lines
    where month = $month
    group by all
)
select h.spec_number, h.subscriber_id, h.subtotal, coalesce(s.line_sum, 0) as line_sum, h.vat, h.total
from spec_headers as h
left join line_sums as s using (spec_number)
where h.month = $month and (h.subtotal <> coalesce(s.line_sum, 0) or h.total <> h.subtotal + h.vat)
order by all
