-- The records of the file that break a rule, with the raw record as JSON (built for
-- quarantined rows only).
insert into quarantine
select $feed, $file, s._line, s._record_id, s._rule, s._reason, to_json(r)
from staged s
join raw_records r using (_line)
where s._rule is not null
