-- Whether a table or view of this name exists (a warehouse from an older version may lack it).
select count(*) > 0
from information_schema.tables
where table_name = $table
