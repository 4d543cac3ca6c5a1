-- Appends the valid records of one file to the feed's table, but for the duplicates and
-- conflicts `classified` holds (usually none: the anti join then costs nothing, where a
-- semi join with every loaded line would build a hash table of the file).
insert into __table__ by name
select
    staged.* exclude (_rule, _reason, _record_id),
    $file as _file
from staged
anti join classified using (_line)
where staged._rule is null
