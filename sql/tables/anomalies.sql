create table if not exists anomalies (
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    kind varchar not null,
    rule varchar not null,
    subscriber_id varchar,
    record varchar,
    message varchar not null
)
