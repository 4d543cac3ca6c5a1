-- One Parquet file as it is (its own column types), each row numbered like a CSV line
-- (row 1 is "line 2", as if there were a header).
create or replace temp table raw_file as
select * exclude (file_row_number), file_row_number + 1 as _line
from read_parquet($path, file_row_number = true)
