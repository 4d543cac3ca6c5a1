create table if not exists prepaid_ledger (
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    subscriber_id varchar not null,
    family varchar not null,
    seq integer not null,
    day date not null,
    kind varchar not null,
    card_id varchar,
    record varchar,
    units bigint not null,
    balance bigint,
    rule varchar not null
)
