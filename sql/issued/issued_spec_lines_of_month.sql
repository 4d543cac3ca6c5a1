-- The issued lines of one month as `ccmeter verify` compares them with the issued files.
select spec_number, line_no, kind, period, code, quantity, unit_price, amount, vat_rate
from spec_lines
where month = $m
