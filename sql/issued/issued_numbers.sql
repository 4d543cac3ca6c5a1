-- The specification number issued to each subscriber for the month.
select subscriber_id, spec_number from spec_headers where month = $m
