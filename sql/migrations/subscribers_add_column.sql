-- Adds one optional text column to a subscribers table made before the column existed
-- (`create table if not exists` leaves an old table as it is). `__column__` is a column
-- name of the feed definition (metering/feeds.py EINVOICE_COLUMNS), filled in from
-- code, never from data.
alter table subscribers add column if not exists __column__ varchar
