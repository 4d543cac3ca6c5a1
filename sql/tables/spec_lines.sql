-- Issued lines: every line of every issued specification (own lines and X3 adjustment
-- lines), as the manifested JSON files say. Derived from the issued files: rebuilt from
-- them by `ccmeter rebuild` and whenever a manifest is not yet reflected here.
-- quantity and unit_price hold the JSON's decimal strings exactly: 6 decimals cover every
-- value pricing.md and the tariffs make (whole counts, seconds, minutes, days, klip; km
-- to 3 decimals; a discount base in cents; cent prices, the 0.125 bundle-discount rate,
-- card prices = rate × klip × (1 − a 2-decimal discount)). A negotiated or edited price
-- with more decimals makes an issue fail its staged checks before the commit
-- (metering/issued.py `unrepresentable`): never rounded here. Months are 'YYYY-MM', checked.
create table if not exists spec_lines (
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    spec_number varchar not null,
    subscriber_id varchar not null,
    line_no integer not null,
    kind varchar not null,
    period varchar not null check (regexp_full_match(period, '[0-9]{4}-(0[1-9]|1[0-2])')),
    adjusts varchar,
    code varchar not null,
    description varchar,
    quantity decimal(18, 6) not null,
    unit varchar,
    unit_price decimal(18, 6) not null,
    price_unit varchar,
    amount decimal(18, 2) not null,
    vat_rate decimal(6, 4) not null,
    rule varchar not null,
    service varchar,
    family varchar not null
)
