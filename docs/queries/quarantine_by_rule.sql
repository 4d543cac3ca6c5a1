-- Quarantined records and files per feed and rule broken, largest first, with one
-- example reason (the first by file and line). A whole unreadable file is one row with
-- rule 'file.unreadable' and no line. Columns: feed, rule, records, files,
-- example_file, example_line, example_reason.
select
    feed,
    rule,
    count(*) as records,
    count(distinct file) as files,
    arg_min(file, file || ':' || lpad(cast(coalesce(line, 0) as varchar), 12, '0')) as example_file,
    arg_min(line, file || ':' || lpad(cast(coalesce(line, 0) as varchar), 12, '0')) as example_line,
    arg_min(reason, file || ':' || lpad(cast(coalesce(line, 0) as varchar), 12, '0')) as example_reason
from quarantine
group by feed, rule
order by records desc, feed, rule
