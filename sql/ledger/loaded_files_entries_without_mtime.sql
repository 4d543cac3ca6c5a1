-- loaded_files_entries for a warehouse from before mtime_ns, opened read-only (not
-- migrated): every file then looks new once.
select path, size_bytes, cast(null as bigint) as mtime_ns, status, sha256
from loaded_files
