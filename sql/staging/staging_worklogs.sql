-- Types and checks one file of work logs (temp view raw_staging: all text, plus
-- `_typed_<column>` where a Parquet file holds an accepted instant or count already).
create or replace temp table staged as
with source as (
    select * from raw_staging
),
cleaned as (
    select
        _line,
        nullif(trim(worklog_id), '') as worklog_id,
        nullif(trim(subscriber_id), '') as subscriber_id,
        nullif(trim(activity), '') as activity,
        nullif(trim(started_at), '') as started_at_text,
        nullif(trim(minutes), '') as minutes_text,
        nullif(trim(km), '') as km_text,
        nullif(trim(consultant), '') as consultant,
        nullif(description, '') as description,
        _typed_started_at, _typed_minutes
    from source
),
typed as (
    select
        *,
        coalesce(_typed_started_at, iso_instant(started_at_text)) as started_at,
        coalesce(_typed_minutes, case when regexp_full_match(minutes_text, '[0-9]{1,9}')
             then cast(minutes_text as bigint) end) as minutes,
        case when regexp_full_match(km_text, '[0-9]{1,12}(\.[0-9]{1,3})?')
             then cast(km_text as decimal(18, 3)) end as km
    from cleaned
),
checked as (
    select
        typed.*,
        case
            when worklog_id is null then 'worklog_id.required'
            when length(worklog_id) > ingest_parameters.max_id_length then 'worklog_id.length'
            when subscriber_id is null then 'subscriber_id.required'
            when length(subscriber_id) > ingest_parameters.max_id_length then 'subscriber_id.length'
            when not file_safe_id(subscriber_id) then 'subscriber_id.pattern'
            when starts_with(subscriber_id, '.') then 'subscriber_id.leading_dot'
            when list_contains(ingest_parameters.reserved_ids, lower(subscriber_id)) then 'subscriber_id.reserved'
            when activity is null or activity not in ('phone', 'email', 'webticket', 'remote', 'onsite',
                                                      'office', 'training', 'admin') then 'activity.enum'
            when started_at is null then 'started_at.timestamp'
            when started_at_text is not null and _typed_started_at is null and abs(utc_offset_s(started_at_text, started_at)) > ingest_parameters.max_utc_offset_s then 'started_at.offset'
            when minutes is null or minutes <= 0 then 'minutes.positive'
            when minutes * 60 > ingest_parameters.max_duration_s then 'minutes.plausible'
            when km_text is not null and km is null then 'km.decimal'
        end as _rule
    from typed
    cross join ingest_parameters
)
select
    _line,
    worklog_id as _record_id,
    _rule,
    case _rule
        when 'worklog_id.required' then 'worklog_id is required'
        when 'worklog_id.length' then 'worklog_id has ' || length(worklog_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.required' then 'subscriber_id is required'
        when 'subscriber_id.pattern' then 'subscriber_id ' || to_json(subscriber_id) || ' may contain only letters, digits, -, _ and . (it names files)'
        when 'subscriber_id.length' then 'subscriber_id has ' || length(subscriber_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.leading_dot' then 'subscriber_id ' || to_json(subscriber_id) || ' starts with a dot (it names files, which would be hidden)'
        when 'subscriber_id.reserved' then 'subscriber_id ' || to_json(subscriber_id) || ' names one of ccmeter''s own files (manifest, summary, anomalies, anomalies-summary, any case)'
        when 'activity.enum' then 'activity ' || coalesce(to_json(activity)::varchar, 'empty') || ' is not one of phone, email, webticket, remote, onsite, office, training, admin'
        when 'started_at.timestamp' then 'started_at ' || coalesce(to_json(started_at_text)::varchar, 'empty') || ' is not an ISO 8601 timestamp with an offset or Z'
        when 'started_at.offset' then 'started_at ' || to_json(started_at_text) || ' has a UTC offset beyond ±' || (ingest_parameters.max_utc_offset_s // 3600) || ':' || lpad((ingest_parameters.max_utc_offset_s % 3600 // 60)::varchar, 2, '0')
        when 'minutes.plausible' then 'minutes ' || minutes || ' is more than the limit of ' || (ingest_parameters.max_duration_s // 60) || ' minutes'
        when 'minutes.positive' then 'minutes ' || coalesce(to_json(minutes_text)::varchar, 'empty') || ' is not a whole number > 0'
        when 'km.decimal' then 'km ' || to_json(km_text) || ' is not a decimal ≥ 0 (at most 3 decimals)'
    end as _reason,
    worklog_id,
    subscriber_id,
    activity,
    started_at,
    minutes,
    km,
    consultant,
    description
from checked
cross join ingest_parameters
