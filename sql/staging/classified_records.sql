-- The valid records of one file that do not load: the same id with the same content
-- (earlier in this file, or already loaded) is a duplicate; with other content, a
-- conflict for the quarantine. Every other valid record loads
-- (sql/staging/load_records.sql). `__table__` and `__id__` are the feed's table and id
-- column, `__content__` its columns (the record's typed content, as loaded): filled in
-- from code, never from data.
-- Content is compared only where an id repeats in the file or was loaded before (usually
-- nowhere), as a row of the typed columns, exactly: no hash of every record is made or
-- stored (at 3 M call legs the md5 of every record and storing it cost ~0.9 CPU s per
-- 1 M records, a quarter of ingest).
create or replace temp table classified as
with valid as (
    select _line, _record_id from staged where _rule is null
),
repeated_ids as (
    select _record_id from valid group by _record_id having count(*) > 1
),
already_loaded as materialized (
    -- the loaded rows that share an id with this file (usually none); the semi join first,
    -- so the content of the other loaded rows is never built (the loaded table grows with
    -- every file)
    select __id__ as _record_id, row(__content__) as _content, _file, _line
    from __table__
    where __id__ in (select _record_id from valid)
),
candidate_ids as (
    select _record_id from repeated_ids
    union
    select _record_id from already_loaded
),
candidates as (
    select _line, _record_id, row(__content__) as _content
    from staged
    where _rule is null and _record_id in (select _record_id from candidate_ids)
),
ranked as (
    select
        *,
        row_number() over (partition by _record_id order by _line) as _rank_in_file,
        first_value(_content) over (partition by _record_id order by _line) as _first_content,
        first_value(_line) over (partition by _record_id order by _line) as _first_line
    from candidates
),
joined as (
    select
        ranked.*,
        existing._content as _existing_content,
        existing._file as _existing_file,
        existing._line as _existing_line
    from ranked
    left join already_loaded as existing using (_record_id)
),
disposed as (
    select
        _line,
        _record_id,
        case
            when _existing_line is not null and _existing_content is not distinct from _content then 'duplicate'
            when _existing_line is not null then 'conflict'
            when _rank_in_file = 1 then 'load'
            when _content is not distinct from _first_content then 'duplicate'
            else 'conflict'
        end as disposition,
        case
            when _existing_line is not null and _existing_content is distinct from _content
                then 'id ' || to_json(_record_id) || ' was loaded before from ' || _existing_file
                     || ' line ' || _existing_line || ' with different content'
            when _existing_line is null and _rank_in_file > 1 and _content is distinct from _first_content
                then 'id ' || to_json(_record_id) || ' appears earlier in this file (line '
                     || _first_line || ') with different content'
        end as _reason
    from joined
)
select _line, _record_id, disposition, _reason
from disposed
where disposition <> 'load'
