-- Per feed, from the ledger: files, records read, loaded, quarantined, duplicates; files
-- whose counts do not balance; records quarantined from readable files; files quarantined
-- whole (unreadable or rejected entries).
select
    feed,
    count(*),
    sum(read),
    sum(loaded),
    sum(quarantined),
    sum(duplicates),
    count(*) filter (where read <> loaded + quarantined + duplicates),
    coalesce(sum(quarantined) filter (where status = 'loaded'), 0),
    count(*) filter (where status in ('unreadable', 'rejected'))
from loaded_files
group by feed
