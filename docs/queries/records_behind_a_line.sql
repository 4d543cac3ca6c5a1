-- The usage records behind one issued specification line: the view line_records, keyed
-- by (spec_number, line_no), one row per record that went to the line, with the record's
-- start from its feed. Choose the line with `set variable spec_number = '202610-00012';
-- set variable line_no = 3;` before running; unset, the first traced line is shown.
-- A code printed on two lines of one document (a price change mid-month) is split by
-- unit price: each line shows only its own records, and record_quantity sums to
-- line_quantity. Traced: own lines of the answering family's usage (calls, legs,
-- interactions, reports, DIRECT and training work logs). Not traced: fees, service pack
-- and klippekort lines (see prepaid_ledger.record), remote_support, adjustment lines.
-- Columns: month, spec_number, line_no, code, unit_price, line_quantity, unit, feed,
-- record_id, record_quantity, rule, started_at.
with chosen as (
    select spec_number, line_no
    from line_records
    where spec_number = coalesce(getvariable('spec_number'), spec_number)
        and line_no = coalesce(getvariable('line_no'), line_no)
    order by month, spec_number, line_no
    limit 1
)
select
    r.month,
    r.spec_number,
    r.line_no,
    r.code,
    r.unit_price,
    l.quantity as line_quantity,
    l.unit,
    r.feed,
    r.record_id,
    r.quantity as record_quantity,
    r.rule,
    coalesce(c.started_at, i.started_at, w.started_at) as started_at
from line_records as r
join chosen using (spec_number, line_no)
join spec_lines as l on l.month = r.month and l.spec_number = r.spec_number and l.line_no = r.line_no
left join calls as c on r.feed = 'calls' and c.call_id = r.record_id
left join interactions as i on r.feed = 'interactions' and i.interaction_id = r.record_id
left join worklogs as w on r.feed = 'worklogs' and w.worklog_id = r.record_id
order by started_at, r.feed, r.record_id
