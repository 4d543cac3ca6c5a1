-- Every column of schema main with its type, in column order (the data dictionary's types).
select table_name, column_name, data_type
from duckdb_columns()
where database_name = current_database() and schema_name = 'main'
order by table_name, column_index
