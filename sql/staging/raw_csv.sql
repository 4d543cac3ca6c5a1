-- One clean CSV file read by DuckDB's reader as text columns, each row with its physical
-- line (the header is line 1). `$names`: the normalised header, given as a parameter so
-- no name from a file enters the SQL text. Any irregularity fails the read: the careful
-- reader (metering.ingest._read_csv_careful) takes the file then. Shown as raw_file by
-- sql/staging/raw_file_csv.sql.
create or replace temp table raw_csv as
select *, row_number() over () + 1 as _line
from read_csv($path, all_varchar = true, header = true, names = $names, delim = ',',
              quote = '"', escape = '"', strict_mode = true, max_line_size = $max, auto_detect = true,
              sample_size = -1, null_padding = false, encoding = 'utf-8')
