-- The columns of the file just read, in file order, with their DuckDB types.
select column_name, column_type from (describe raw_file)
