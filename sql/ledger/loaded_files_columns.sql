-- The columns of the ledger as this connection sees it (an old warehouse opened read-only
-- may lack mtime_ns).
select column_name from (describe loaded_files)
