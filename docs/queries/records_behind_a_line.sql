-- The usage records behind one issued specification line: rated_records (the record →
-- line code trace of the month) joined to the line on (month, subscriber_id, code).
-- Choose the line with `set variable spec_number = '202610-00012'; set variable
-- line_no = 3;` before running; unset, the first traced line is shown.
-- Traced: own lines (kind 'line') of the answering family's usage codes (calls,
-- interactions, DIRECT and training work logs). Not traced: fees, service pack and
-- klippekort lines (see prepaid_ledger.record), remote_support, adjustment lines. When a
-- code is on more than one line of the document (a price change mid-month), the records
-- cannot be split per line (no unit price in rated_records): `exact` is false then.
-- Columns: month, spec_number, line_no, code, line_quantity, unit, feed, record_id,
-- record_quantity, rule, started_at, exact.
with line as (
    select l.month, l.spec_number, l.subscriber_id, l.line_no, l.code, l.quantity, l.unit
    from spec_lines as l
    where l.kind = 'line'
        and l.spec_number = coalesce(getvariable('spec_number'), l.spec_number)
        and l.line_no = coalesce(getvariable('line_no'), l.line_no)
        and exists (
            select 1 from rated_records as r
            where r.month = l.month and r.subscriber_id = l.subscriber_id and r.code = l.code
        )
    order by l.month, l.spec_number, l.line_no
    limit 1
),
same_code as (
    select count(*) as lines
    from spec_lines as s
    join line on s.month = line.month and s.spec_number = line.spec_number and s.code = line.code
)
select
    line.month,
    line.spec_number,
    line.line_no,
    line.code,
    line.quantity as line_quantity,
    line.unit,
    r.feed,
    r.record_id,
    r.quantity as record_quantity,
    r.rule,
    coalesce(c.started_at, i.started_at, w.started_at) as started_at,
    same_code.lines = 1 as exact
from line
cross join same_code
join rated_records as r
    on r.month = line.month and r.subscriber_id = line.subscriber_id and r.code = line.code
left join calls as c on r.feed = 'calls' and c.call_id = r.record_id
left join interactions as i on r.feed = 'interactions' and i.interaction_id = r.record_id
left join worklogs as w on r.feed = 'worklogs' and w.worklog_id = r.record_id
order by started_at, r.feed, r.record_id
