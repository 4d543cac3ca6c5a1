-- Subtotal, VAT, total and currency of each specification of the month in the warehouse.
select subscriber_id, subtotal, vat, total, currency from spec_headers where month = $m
