-- The id the next file of the ledger takes.
select coalesce(max(file_id), 0) + 1 from loaded_files
