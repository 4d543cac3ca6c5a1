-- Splits the valid records of one file into load / duplicate / conflict by their id:
-- the same id with the same content (earlier in this file, or already loaded) is a
-- duplicate; with other content, a conflict for the quarantine. `__table__` and
-- `__id__` are the feed's table and id column, filled in from code, never from data.
-- Narrow: the line, id and hash decide; sql/staging/load_records.sql takes the record
-- itself from `staged` by line (carrying every column through the two materialised steps
-- below cost more than that join: measured per 1 M-row calls file).
create or replace temp table classified as
with source as (
    select _line, _record_id, _hash from staged where _rule is null
),
repeated_ids as (
    -- ids that occur more than once in this file (usually none): only they need ranking
    select _record_id from source group by _record_id having count(*) > 1
),
single as (
    select source.*, 1 as _rank_in_file, _hash as _first_hash, _line as _first_line
    from source anti join repeated_ids using (_record_id)
),
multiple as (
    select
        source.*,
        row_number() over (partition by _record_id order by _line) as _rank_in_file,
        first_value(_hash) over (partition by _record_id order by _line) as _first_hash,
        first_value(_line) over (partition by _record_id order by _line) as _first_line
    from source semi join repeated_ids using (_record_id)
),
ranked as (
    select * from single
    union all by name
    select * from multiple
),
already_loaded as (
    -- the loaded rows that share an id with this file (usually none); a semi join first,
    -- so the join below does not carry every loaded row's hash, file and line (the
    -- loaded table grows with every file: measured at 10 M loaded, 0.91-1.03 s per
    -- 1 M-row file joined directly, 0.77-0.83 s this way, 0.56 s against an empty table)
    select __id__, _hash, _file, _line
    from __table__
    where __id__ in (select _record_id from ranked)
),
joined as (
    select
        ranked.*,
        existing._hash as _existing_hash,
        existing._file as _existing_file,
        existing._line as _existing_line
    from ranked
    left join already_loaded as existing on existing.__id__ = ranked._record_id
)
select
    _line,
    _record_id,
    case
        when _existing_hash is not null and _existing_hash = _hash then 'duplicate'
        when _existing_hash is not null then 'conflict'
        when _rank_in_file = 1 then 'load'
        when _hash = _first_hash then 'duplicate'
        else 'conflict'
    end as disposition,
    case
        when _existing_hash is not null and _existing_hash <> _hash
            then 'id ' || to_json(_record_id) || ' was loaded before from ' || _existing_file
                 || ' line ' || _existing_line || ' with different content'
        when _existing_hash is null and _rank_in_file > 1 and _hash <> _first_hash
            then 'id ' || to_json(_record_id) || ' appears earlier in this file (line '
                 || _first_line || ') with different content'
    end as _reason
from joined
