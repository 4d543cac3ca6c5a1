-- Appends the records of one file classified as `load` to the feed's table.
insert into __table__ by name
select
    * exclude (_rule, _reason, _record_id, _rank_in_file, _first_hash, _first_line,
               _existing_hash, _existing_file, _existing_line, disposition),
    $file as _file
from classified
where disposition = 'load'
