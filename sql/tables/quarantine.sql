create table if not exists quarantine (
    feed varchar not null,
    file varchar not null,
    line bigint,
    record_id varchar,
    rule varchar not null,
    reason varchar not null,
    record varchar
)
