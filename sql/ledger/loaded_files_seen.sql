-- A file skipped because the ledger holds its bytes at the same path already: the ledger
-- takes its current size and mtime_ns, so the inbox sensor does not see it as new again.
update loaded_files
set size_bytes = $size, mtime_ns = $mtime_ns
where feed = $feed and path = $path and sha256 = $sha and status <> 'rejected'
  and (mtime_ns is distinct from $mtime_ns or size_bytes <> $size)
