-- What the ledger knows of each inbox entry: path, size, mtime, status, sha256 (for a
-- rejected entry its identity). The inbox sensor compares the inbox with it.
select path, size_bytes, mtime_ns, status, sha256
from loaded_files
