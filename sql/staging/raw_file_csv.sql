-- The CSV file just read (temp table raw_csv, from DuckDB's reader or the careful one) as
-- raw_file, the view every later step reads: a view for either format, so the next file's
-- `create or replace` never meets a table where it makes a view.
create or replace temp view raw_file as select * from raw_csv
