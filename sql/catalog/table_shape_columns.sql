-- The columns of table `$t` in database `$d` (schema main) with their types, in order:
-- half of a table's shape, compared with the shape its DDL makes (metering.model).
select column_name, data_type
from duckdb_columns()
where database_name = $d and schema_name = 'main' and table_name = $t
order by column_index
