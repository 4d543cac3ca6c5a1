-- The feed's columns of the file just read, all as text (a column the file lacks as
-- null), with the line: the record as the quarantine shows it. `__columns__` is the
-- column list built from the feed definition (metering/feeds.py), never from a file.
-- A view, so the staging statement reads the file's rows once, without another copy.
create or replace temp view raw_records as
select __columns__, _line
from raw_file
