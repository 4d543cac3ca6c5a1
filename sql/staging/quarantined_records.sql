-- The records of the file that break a rule, with the raw record as JSON (built for
-- quarantined rows only), made while the file is read, before the load's transaction:
-- a Parquet file is read in place, so reading it again inside the transaction could
-- fail there (sql/ledger/quarantine_staged.sql inserts these rows).
create or replace temp table quarantined_records as
select s._line, s._record_id, s._rule, s._reason, to_json(r) as record
from staged s
join raw_records r using (_line)
where s._rule is not null
