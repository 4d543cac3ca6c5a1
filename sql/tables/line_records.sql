-- The records behind each issued line, keyed by (spec_number, line_no): rated_records
-- (the month's record → line code trace, answering and remote support usage) joined to the own lines of the
-- same month, subscriber and code of the issued specification. A code printed on two
-- lines of one document has two unit prices (G2: one line per code and unit price), so
-- the record's unit price picks its line; rows written before rated_records kept the unit
-- price (null) are joined only where the code is on one line of the document. Adjustment
-- lines (X3) have no records of the month: they are never matched.
create or replace view line_records as
with own_lines as (
    select
        month,
        spec_number,
        subscriber_id,
        line_no,
        code,
        unit_price,
        count(*) over (partition by month, spec_number, code) as lines_of_code
    from spec_lines
    where kind = 'line'
)
select
    own_lines.spec_number,
    own_lines.line_no,
    own_lines.month,
    own_lines.subscriber_id,
    own_lines.code,
    own_lines.unit_price,
    rated.feed,
    rated.record_id,
    rated.quantity,
    rated.rule
from rated_records as rated
join own_lines
    on own_lines.month = rated.month
    and own_lines.subscriber_id = rated.subscriber_id
    and own_lines.code = rated.code
    and (own_lines.unit_price = rated.unit_price
         or (rated.unit_price is null and own_lines.lines_of_code = 1))
