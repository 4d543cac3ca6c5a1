-- Whether a temporary table of this name exists on this connection.
select count(*) > 0
from duckdb_tables()
where temporary and table_name = $table
