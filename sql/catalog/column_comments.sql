-- Every column of schema main with its current comment.
select table_name, column_name, comment
from duckdb_columns()
where database_name = current_database() and schema_name = 'main'
