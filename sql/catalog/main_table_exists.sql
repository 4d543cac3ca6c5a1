-- Whether table `$t` exists in schema main of the open warehouse (not a temporary one).
select count(*) > 0
from duckdb_tables()
where database_name = current_database() and schema_name = 'main' and table_name = $t and not temporary
