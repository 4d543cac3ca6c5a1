-- The CHECK constraints of table `$t` in database `$d` (schema main): the other half of a
-- table's shape (metering.model).
select expression
from duckdb_constraints()
where database_name = $d and schema_name = 'main' and table_name = $t and constraint_type = 'CHECK'
