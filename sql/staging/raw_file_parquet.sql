-- One Parquet file as it is (its own column types), read in place through DuckDB's reader
-- registered as `raw_parquet` (metering.ingest._read_parquet), each row numbered like a
-- CSV line (row 1 is "line 2", as if there were a header).
create or replace temp view raw_file as
select * exclude (file_row_number), file_row_number + 1 as _line
from raw_parquet
