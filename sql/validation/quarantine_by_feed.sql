-- Quarantine rows per feed, split into whole files (no line, no record, a `file.` rule)
-- and single records.
select feed, line is null and record_id is null and rule like 'file.%', count(*)
from quarantine
group by all
