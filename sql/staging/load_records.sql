-- Appends the records of one file classified as `load` to the feed's table: the typed
-- record from `staged`, the disposition from `classified` (by line, unique in a file).
insert into __table__ by name
select
    staged.* exclude (_rule, _reason, _record_id),
    $file as _file
from staged
where _line in (select _line from classified where disposition = 'load')
