-- Whether a table of the warehouse exists (an older or empty warehouse may lack it).
select count(*) > 0 as present from information_schema.tables where table_name = $t
