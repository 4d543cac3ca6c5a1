-- The records the careful CSV reader parsed (registered Arrow table `raw_arrow`: text
-- columns and `_line`), as the temp table sql/staging/raw_file_csv.sql shows as raw_file.
create or replace temp table raw_csv as select * from raw_arrow
