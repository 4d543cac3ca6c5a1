-- Tables and views of schema main of the open warehouse (not the temporary ones).
select table_name
from information_schema.tables
where table_schema = 'main' and table_catalog = current_database()
