-- Drops the md5 `_hash` column of a feed table made by an older version: duplicates and
-- conflicts are told by comparing content now (sql/staging/classified_records.sql).
-- `__table__` is a feed table name from code (metering.ingest.HASHLESS_TABLES).
alter table __table__ drop column if exists _hash
