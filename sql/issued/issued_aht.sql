-- The AHT block (JSON) of each issued specification of the month that has one.
select subscriber_id, aht from spec_headers where month = $m and aht is not null
