-- Issued lines: every line of every issued specification (own lines and X3 adjustment
-- lines), as the manifested JSON files say. Derived from the issued files: rebuilt from
-- them by `ccmeter rebuild` and whenever a manifest is not yet reflected here.
create table if not exists spec_lines (
    month varchar not null,
    spec_number varchar not null,
    subscriber_id varchar not null,
    line_no integer not null,
    kind varchar not null,
    period varchar not null,
    adjusts varchar,
    code varchar not null,
    description varchar,
    quantity varchar not null,
    unit varchar,
    unit_price varchar not null,
    price_unit varchar,
    amount decimal(18, 2) not null,
    vat_rate decimal(6, 4) not null,
    rule varchar not null,
    service varchar,
    family varchar not null
)
