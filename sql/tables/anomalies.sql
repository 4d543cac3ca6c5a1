create table if not exists anomalies (
    month varchar not null,
    kind varchar not null,
    rule varchar not null,
    subscriber_id varchar,
    record varchar,
    message varchar not null
)
