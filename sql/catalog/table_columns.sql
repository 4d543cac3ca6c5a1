-- The columns a table of schema main has now (a migration adds the ones it lacks).
select column_name
from information_schema.columns
where table_schema = 'main' and table_name = $table
