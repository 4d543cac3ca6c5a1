-- One row of the ledger of inbox files: a file read (status loaded or unreadable, its
-- sha256 and counts) or an inbox entry that is not a readable regular file (status
-- rejected; `sha256` then holds the entry's identity: type, inode, size, times, link).
insert into loaded_files (file_id, feed, path, size_bytes, sha256, status, reason, unknown_columns,
                          read, loaded, quarantined, duplicates, mtime_ns)
values ($id, $feed, $path, $size, $sha, $status, $reason, $unknown, $read, $loaded, $q, $d, $mtime_ns)
