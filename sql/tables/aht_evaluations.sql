create table if not exists aht_evaluations (
    quarter varchar not null,
    subscriber_id varchar not null,
    interactions bigint not null,
    handle_s bigint not null,
    actual_s decimal(18, 2),
    aht_old bigint not null,
    aht_new bigint not null,
    deviation decimal(18, 4),
    decision varchar not null
)
