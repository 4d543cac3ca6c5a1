-- The fingerprint of the inputs the persistent `usage` table was last built from (one
-- row): a run whose inputs have the same fingerprint reuses `usage` instead of routing
-- every record again (metering/routed_usage.py).
create table if not exists usage_state (
    fingerprint varchar not null,
    built_at timestamp with time zone not null
)
