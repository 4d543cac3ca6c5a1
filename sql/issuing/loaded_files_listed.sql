-- The inbox files loaded so far, in load order, with their content hash: what a
-- manifest records as the data an issued month was billed from.
select path, sha256
from loaded_files
order by file_id
