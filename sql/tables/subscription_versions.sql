create table if not exists subscription_versions (
    subscriber_id varchar not null,
    product varchar not null,
    quantity bigint not null,
    valid_from date not null,
    valid_to date,
    params varchar not null,
    _hash varchar not null,
    _file varchar not null,
    _line bigint not null,
    _file_id bigint not null
)
