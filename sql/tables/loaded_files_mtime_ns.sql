-- The modification time (ns) of each ledgered inbox file, so a file corrected in place at
-- the same size is noticed (the sensor compares path, size and mtime_ns); added to
-- warehouses created before the column existed.
alter table loaded_files add column if not exists mtime_ns bigint
