create table if not exists contract_errors (
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    subscriber_id varchar not null,
    family varchar not null,
    rule varchar not null,
    message varchar not null
)
