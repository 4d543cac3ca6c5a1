-- Keeps the month's per-record answering charges (record → line code) for tracing.
insert into rated_records
select getvariable('month') as month, subscriber_id, feed, record_id, 'answering' as family, code, quantity, rule
from answering_charges
