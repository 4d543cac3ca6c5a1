-- The record → line trace of each issued month (answering and remote support usage). unit_price tells two
-- lines of one code apart (a price change mid-month); null on rows written before it was
-- kept (older versions).
create table if not exists rated_records (
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    subscriber_id varchar not null,
    feed varchar not null,
    record_id varchar not null,
    family varchar not null,
    code varchar not null,
    quantity bigint not null,
    rule varchar not null,
    unit_price decimal(18, 6)
)
