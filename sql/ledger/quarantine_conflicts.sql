-- The valid records whose id was loaded before (or appears earlier in the file) with
-- other content: rule `id.conflict`, the raw record as JSON.
insert into quarantine
select $feed, $file, c._line, c._record_id, 'id.conflict', c._reason, to_json(r)
from classified c
join raw_records r using (_line)
where c.disposition = 'conflict'
