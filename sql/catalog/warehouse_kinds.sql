-- Every table and view of schema main with its kind, as the data dictionary names it.
select table_name, 'table'
from duckdb_tables()
where database_name = current_database() and schema_name = 'main'
union all
select view_name, 'view'
from duckdb_views()
where database_name = current_database() and schema_name = 'main' and not internal
