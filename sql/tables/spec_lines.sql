create table if not exists spec_lines (
    month varchar not null,
    spec_number varchar not null,
    subscriber_id varchar not null,
    line_no integer not null,
    code varchar not null,
    description varchar,
    quantity varchar not null,
    unit varchar,
    unit_price varchar not null,
    price_unit varchar,
    amount decimal(18, 2) not null,
    vat_rate decimal(6, 4) not null,
    rule varchar not null,
    family varchar not null
)
