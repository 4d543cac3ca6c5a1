-- Keeps the month's per-record answering charges (record → line code) for tracing, with
-- the unit price of the record's price epoch (answering_unit_prices, from the tariff the
-- lines were priced with): (code, unit price) names the record's line on the document.
insert into rated_records by name
select
    getvariable('month') as month,
    charges.subscriber_id,
    charges.feed,
    charges.record_id,
    'answering' as family,
    charges.code,
    charges.quantity,
    charges.rule,
    cast(prices.unit_price as decimal(18, 6)) as unit_price
from answering_charges as charges
left join answering_unit_prices as prices
    on prices.epoch = charges.epoch and prices.code = charges.code
