create table if not exists contract_errors (
    month varchar not null,
    subscriber_id varchar not null,
    family varchar not null,
    rule varchar not null,
    message varchar not null
)
