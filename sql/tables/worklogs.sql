create table if not exists worklogs (
    worklog_id varchar not null,
    subscriber_id varchar not null,
    activity varchar not null,
    started_at timestamptz not null,
    minutes bigint not null,
    km decimal(18, 3),
    consultant varchar,
    description varchar,
    _file varchar not null,
    _line bigint not null
)
