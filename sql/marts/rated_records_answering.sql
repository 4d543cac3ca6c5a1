-- Keeps the month's answering rating relation (record → line code) for tracing, with
-- the unit price of the record's price epoch (answering_unit_prices, from the tariff the
-- lines were priced with): (code, unit price) names the record's line on the document.
insert into rated_records by name
select
    parameters.month,
    charges.subscriber_id,
    charges.feed,
    charges.record_id,
    'answering' as family,
    charges.code,
    charges.quantity,
    charge_codes.rule,
    cast(prices.unit_price as decimal(18, 6)) as unit_price
from answering_charges(null) as charges
cross join answering_parameters as parameters
-- the rule of each code is the charge-code registry's, written once; a code missing there
-- leaves the rule null, which rated_records refuses (not null)
left join charge_codes using (code)
left join answering_unit_prices as prices
    on prices.epoch = charges.epoch and prices.code = charges.code
