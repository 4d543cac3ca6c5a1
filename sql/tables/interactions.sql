create table if not exists interactions (
    interaction_id varchar not null,
    subscriber_id varchar not null,
    channel varchar not null,
    started_at timestamptz not null,
    ended_at timestamptz not null,
    handle_s bigint not null,
    agent_id varchar,
    _file varchar not null,
    _line bigint not null
)
