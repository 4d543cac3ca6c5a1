-- Whether the persistent `usage` table was built from inputs with this fingerprint
-- (a temporary `usage` of an older version does not count: it dies with its connection).
with persistent as (
    select count(*) as tables
    from duckdb_tables()
    where table_name = 'usage' and not temporary
),
state as (
    select count(*) as matching
    from usage_state
    where fingerprint = $fingerprint
)
select persistent.tables > 0 and state.matching > 0 as reusable
from persistent, state
