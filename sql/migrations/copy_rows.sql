-- Copies the rows of a table made by an older version into its current shape (made from
-- sql/tables/<table>.sql under a new name): the columns both have, by name; a column new
-- in this version is null on the old rows. Identifiers come from the repository's DDL
-- and DuckDB's catalog (metering/model.py), quoted, never from data.
insert into __target__ (__columns__) select __columns__ from __source__
