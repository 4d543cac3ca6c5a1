-- Inbox entries whose latest ledger row is a rejection (not a readable regular file: a
-- directory, FIFO, broken or looping link, link outside the workspace, no permission).
select feed, path, reason
from loaded_files
where $feed is null or feed = $feed
qualify row_number() over (partition by feed, path order by file_id desc) = 1 and status = 'rejected'
order by feed, path
