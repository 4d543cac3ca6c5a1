create table if not exists aht_evaluations (
    quarter varchar not null check (regexp_full_match(quarter, '[0-9]{4}-Q[1-4]')),
    subscriber_id varchar not null,
    interactions bigint not null,
    handle_s bigint not null,
    actual_s decimal(18, 2),
    aht_old bigint not null,
    aht_new bigint not null,
    deviation decimal(18, 4),
    decision varchar not null
)
