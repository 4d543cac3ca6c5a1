-- Whether the open warehouse was opened read-only (status, quarantine, the sensor).
select readonly
from duckdb_databases()
where database_name = current_database()
