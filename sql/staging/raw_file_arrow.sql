-- The records the careful CSV reader parsed (registered Arrow table `raw_arrow`: text
-- columns and `_line`), as the temp table every later step reads.
create or replace temp table raw_file as select * from raw_arrow
