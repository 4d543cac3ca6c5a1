create table if not exists calls (
    call_id varchar not null,
    subscriber_id varchar not null,
    call_type varchar not null,
    parent_call_id varchar,
    started_at timestamptz not null,
    answered_at timestamptz,
    ended_at timestamptz not null,
    talk_s bigint not null,
    caller_number varchar,
    destination_country varchar,
    report varchar,
    _file varchar not null,
    _line bigint not null
)
