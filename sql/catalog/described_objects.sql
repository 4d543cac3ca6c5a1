-- Tables and views of schema main with their kind (for COMMENT ON) and current comment.
select table_name, 'TABLE', comment
from duckdb_tables()
where database_name = current_database() and schema_name = 'main' and not temporary
union all
select view_name, 'VIEW', comment
from duckdb_views()
where database_name = current_database() and schema_name = 'main' and not temporary and not internal
