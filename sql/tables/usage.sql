-- Every usage record of every feed routed to the tariff family that rates it, in the
-- subscriber's local time (filled by sql/marts/usage.sql). A warehouse table rebuilt whole
-- (create or replace) whenever its inputs change (metering/routed_usage.py), reused otherwise.
create or replace table usage (
    feed varchar not null,
    record_id varchar not null,
    subscriber_id varchar not null,
    kind varchar not null,
    started_at timestamptz not null,
    local_at timestamp,
    local_date date,
    month varchar not null check (regexp_full_match(month, '[0-9]{4}-(0[1-9]|1[0-2])')),
    answered boolean not null,
    talk_s bigint,
    handle_s bigint,
    minutes bigint,
    km decimal(18, 3),
    activity varchar,
    channel varchar,
    report varchar,
    destination_country varchar,
    caller_number varchar,
    parent_call_id varchar,
    consultant varchar,
    description varchar,
    plan_product varchar,
    family varchar,
    unrated_reason varchar
)
