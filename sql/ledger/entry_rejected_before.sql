-- Whether this inbox entry (path and identity: type, inode, size, times, link target)
-- was rejected before, so it is quarantined once only.
select count(*) > 0
from loaded_files
where feed = $feed and path = $path and status = 'rejected' and sha256 = $identity
