-- raw_records plus, for timestamp and count columns, `_typed_<column>`: the file's own
-- typed value where the text checks would accept it unchanged (Parquet), else null.
-- `__columns__` is built from the feed definition in code, never from a file.
create or replace temp view raw_staging as
select __columns__, _line
from raw_file
