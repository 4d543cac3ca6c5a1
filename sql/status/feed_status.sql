-- Per feed: files read (rejected inbox entries not counted), records read, loaded,
-- quarantined, duplicates.
select feed, count(*), sum(read), sum(loaded), sum(quarantined), sum(duplicates)
from loaded_files
where status <> 'rejected'
group by feed
