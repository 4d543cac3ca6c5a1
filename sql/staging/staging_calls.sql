-- Types and checks one file of call legs (temp view raw_staging: all text, plus
-- `_typed_<column>` where a Parquet file holds an accepted instant or count already) against
-- data-contract.md. `_rule` names the first rule a record breaks (null: valid).
create or replace temp table staged as
with source as (
    select * from raw_staging
),
cleaned as (
    select
        _line,
        nullif(trim(call_id), '') as call_id,
        nullif(trim(subscriber_id), '') as subscriber_id,
        nullif(trim(call_type), '') as call_type,
        nullif(trim(parent_call_id), '') as parent_call_id,
        nullif(trim(started_at), '') as started_at_text,
        nullif(trim(answered_at), '') as answered_at_text,
        nullif(trim(ended_at), '') as ended_at_text,
        nullif(trim(talk_s), '') as talk_s_text,
        nullif(trim(caller_number), '') as caller_number,
        nullif(trim(destination_country), '') as destination_country,
        coalesce(nullif(trim(report), ''), '') as report,
        _typed_started_at, _typed_answered_at, _typed_ended_at, _typed_talk_s
    from source
),
typed as (
    select
        *,
        coalesce(_typed_started_at, iso_instant(started_at_text)) as started_at,
        coalesce(_typed_answered_at, iso_instant(answered_at_text)) as answered_at,
        coalesce(_typed_ended_at, iso_instant(ended_at_text)) as ended_at,
        coalesce(_typed_talk_s, case when regexp_full_match(talk_s_text, '[0-9]{1,12}')
             then cast(talk_s_text as bigint) end) as talk_s
    from cleaned
),
checked as (
    select
        typed.*,
        case
            when call_id is null then 'call_id.required'
            when length(call_id) > ingest_parameters.max_id_length then 'call_id.length'
            when subscriber_id is null then 'subscriber_id.required'
            when length(subscriber_id) > ingest_parameters.max_id_length then 'subscriber_id.length'
            when not file_safe_id(subscriber_id) then 'subscriber_id.pattern'
            when starts_with(subscriber_id, '.') then 'subscriber_id.leading_dot'
            when list_contains(ingest_parameters.reserved_ids, lower(subscriber_id)) then 'subscriber_id.reserved'
            when length(parent_call_id) > ingest_parameters.max_id_length then 'parent_call_id.length'
            when call_type is null or call_type not in ('inbound', 'transfer', 'outbound') then 'call_type.enum'
            when started_at is null then 'started_at.timestamp'
            when started_at_text is not null and _typed_started_at is null and abs(utc_offset_s(started_at_text, started_at)) > ingest_parameters.max_utc_offset_s then 'started_at.offset'
            when answered_at_text is not null and answered_at is null then 'answered_at.timestamp'
            when answered_at_text is not null and _typed_answered_at is null and abs(utc_offset_s(answered_at_text, answered_at)) > ingest_parameters.max_utc_offset_s then 'answered_at.offset'
            when ended_at is null then 'ended_at.timestamp'
            when ended_at_text is not null and _typed_ended_at is null and abs(utc_offset_s(ended_at_text, ended_at)) > ingest_parameters.max_utc_offset_s then 'ended_at.offset'
            when answered_at is not null and answered_at < started_at then 'answered_at.order'
            when ended_at < coalesce(answered_at, started_at) then 'ended_at.order'
            when epoch_us(ended_at) - epoch_us(started_at) > ingest_parameters.max_duration_s * 1000000 then 'ended_at.plausible'
            when talk_s is null then 'talk_s.integer'
            when talk_s > ingest_parameters.max_duration_s then 'talk_s.plausible'
            when answered_at is null and talk_s <> 0 then 'talk_s.unanswered'
            when answered_at is not null
                 and abs(talk_s - (epoch(ended_at) - epoch(answered_at))) > 1 then 'talk_s.consistent'
            when caller_number is not null and not regexp_full_match(caller_number, '\+[1-9][0-9]{1,14}') then 'caller_number.e164'
            when destination_country is not null and not regexp_full_match(destination_country, '[A-Za-z]{2}') then 'destination_country.iso'
            when report not in ('', 'mail', 'sms') then 'report.enum'
        end as _rule
    from typed
    cross join ingest_parameters
)
select
    _line,
    call_id as _record_id,
    _rule,
    case _rule
        when 'call_id.required' then 'call_id is required'
        when 'call_id.length' then 'call_id has ' || length(call_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'parent_call_id.length' then 'parent_call_id has ' || length(parent_call_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.required' then 'subscriber_id is required'
        when 'subscriber_id.pattern' then 'subscriber_id ' || to_json(subscriber_id) || ' may contain only letters, digits, -, _ and . (it names files)'
        when 'subscriber_id.length' then 'subscriber_id has ' || length(subscriber_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.leading_dot' then 'subscriber_id ' || to_json(subscriber_id) || ' starts with a dot (it names files, which would be hidden)'
        when 'subscriber_id.reserved' then 'subscriber_id ' || to_json(subscriber_id) || ' names one of ccmeter''s own files (manifest, summary, anomalies, anomalies-summary, any case)'
        when 'call_type.enum' then 'call_type ' || coalesce(to_json(call_type)::varchar, 'empty') || ' is not one of inbound, transfer, outbound'
        when 'started_at.timestamp' then 'started_at ' || coalesce(to_json(started_at_text)::varchar, 'empty') || ' is not an ISO 8601 timestamp with an offset or Z'
        when 'answered_at.timestamp' then 'answered_at ' || to_json(answered_at_text) || ' is not an ISO 8601 timestamp with an offset or Z'
        when 'ended_at.timestamp' then 'ended_at ' || coalesce(to_json(ended_at_text)::varchar, 'empty') || ' is not an ISO 8601 timestamp with an offset or Z'
        when 'started_at.offset' then 'started_at ' || to_json(started_at_text) || ' has a UTC offset beyond ±' || (ingest_parameters.max_utc_offset_s // 3600) || ':' || lpad((ingest_parameters.max_utc_offset_s % 3600 // 60)::varchar, 2, '0')
        when 'answered_at.offset' then 'answered_at ' || to_json(answered_at_text) || ' has a UTC offset beyond ±' || (ingest_parameters.max_utc_offset_s // 3600) || ':' || lpad((ingest_parameters.max_utc_offset_s % 3600 // 60)::varchar, 2, '0')
        when 'ended_at.offset' then 'ended_at ' || to_json(ended_at_text) || ' has a UTC offset beyond ±' || (ingest_parameters.max_utc_offset_s // 3600) || ':' || lpad((ingest_parameters.max_utc_offset_s % 3600 // 60)::varchar, 2, '0')
        when 'answered_at.order' then 'answered_at is before started_at'
        when 'ended_at.order' then 'ended_at is before ' || case when answered_at is null then 'started_at' else 'answered_at' end
        when 'talk_s.integer' then 'talk_s ' || coalesce(to_json(talk_s_text)::varchar, 'empty') || ' is not a whole number of seconds ≥ 0'
        when 'ended_at.plausible' then 'the call leg lasts ' || ((epoch_us(ended_at) - epoch_us(started_at)) // 1000000) || ' s (ended_at − started_at), more than the limit of ' || ingest_parameters.max_duration_s || ' s'
        when 'talk_s.plausible' then 'talk_s ' || talk_s || ' is more than the limit of ' || ingest_parameters.max_duration_s || ' s'
        when 'talk_s.unanswered' then 'talk_s is ' || talk_s || ' but the call was not answered (must be 0)'
        when 'talk_s.consistent' then 'talk_s ' || talk_s || ' differs by more than 1 s from answered_at → ended_at (' || (epoch(ended_at) - epoch(answered_at)) || ' s)'
        when 'caller_number.e164' then 'caller_number is not an E.164 number'
        when 'destination_country.iso' then 'destination_country ' || to_json(destination_country) || ' is not an ISO 3166-1 alpha-2 code'
        when 'report.enum' then 'report ' || to_json(report) || ' is not empty, mail or sms'
    end as _reason,
    call_id,
    subscriber_id,
    call_type,
    parent_call_id,
    started_at,
    answered_at,
    ended_at,
    talk_s,
    caller_number,
    upper(destination_country) as destination_country,
    report
from checked
cross join ingest_parameters
