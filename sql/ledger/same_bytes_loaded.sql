-- Whether the ledger holds these bytes (sha256) of the feed already: then the file is a
-- no-op. For subscriptions (`$any_name` false) the file name also counts: it orders the
-- versions, so the same rows in a later-named file are the current state.
select count(*) > 0
from loaded_files
where feed = $feed and sha256 = $sha and ($any_name or path = $path)
