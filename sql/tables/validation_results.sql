create table if not exists validation_results (
    feed varchar not null,
    expectation varchar not null,
    success boolean not null,
    unexpected_count bigint,
    message varchar not null,
    severity varchar not null,
    validated_at timestamptz not null
)
