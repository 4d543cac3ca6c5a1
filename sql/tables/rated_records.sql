create table if not exists rated_records (
    month varchar not null,
    subscriber_id varchar not null,
    feed varchar not null,
    record_id varchar not null,
    family varchar not null,
    code varchar not null,
    quantity bigint not null,
    rule varchar not null
)
