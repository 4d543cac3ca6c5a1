-- The records of the file that break a rule, with the raw record as JSON
-- (sql/staging/quarantined_records.sql).
insert into quarantine
select $feed, $file, _line, _record_id, _rule, _reason, record
from quarantined_records
