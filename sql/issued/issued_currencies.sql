-- The currency of each subscriber's issued specification of the month.
select subscriber_id, currency from spec_headers where month = $m
