-- Types and checks one file of interactions (temp view raw_staging: all text, plus
-- `_typed_<column>` where a Parquet file holds an accepted instant or count already).
create or replace temp table staged as
with source as (
    select * from raw_staging
),
cleaned as (
    select
        _line,
        nullif(trim(interaction_id), '') as interaction_id,
        nullif(trim(subscriber_id), '') as subscriber_id,
        nullif(trim(channel), '') as channel,
        nullif(trim(started_at), '') as started_at_text,
        nullif(trim(ended_at), '') as ended_at_text,
        nullif(trim(handle_s), '') as handle_s_text,
        nullif(trim(agent_id), '') as agent_id,
        _typed_started_at, _typed_ended_at, _typed_handle_s
    from source
),
typed as (
    select
        *,
        coalesce(_typed_started_at, iso_instant(started_at_text)) as started_at,
        coalesce(_typed_ended_at, iso_instant(ended_at_text)) as ended_at,
        coalesce(_typed_handle_s, case when regexp_full_match(handle_s_text, '[0-9]{1,12}')
             then cast(handle_s_text as bigint) end) as handle_s
    from cleaned
),
checked as (
    select
        typed.*,
        case
            when interaction_id is null then 'interaction_id.required'
            when length(interaction_id) > ingest_parameters.max_id_length then 'interaction_id.length'
            when subscriber_id is null then 'subscriber_id.required'
            when length(subscriber_id) > ingest_parameters.max_id_length then 'subscriber_id.length'
            when not file_safe_id(subscriber_id) then 'subscriber_id.pattern'
            when starts_with(subscriber_id, '.') then 'subscriber_id.leading_dot'
            when list_contains(ingest_parameters.reserved_ids, lower(subscriber_id)) then 'subscriber_id.reserved'
            when length(agent_id) > ingest_parameters.max_id_length then 'agent_id.length'
            when channel is null or channel not in ('email', 'chat', 'whatsapp', 'webticket') then 'channel.enum'
            when started_at is null then 'started_at.timestamp'
            when started_at_text is not null and _typed_started_at is null and abs(utc_offset_s(started_at_text, started_at)) > ingest_parameters.max_utc_offset_s then 'started_at.offset'
            when ended_at is null then 'ended_at.timestamp'
            when ended_at_text is not null and _typed_ended_at is null and abs(utc_offset_s(ended_at_text, ended_at)) > ingest_parameters.max_utc_offset_s then 'ended_at.offset'
            when ended_at < started_at then 'ended_at.order'
            when handle_s is null then 'handle_s.integer'
            when handle_s > ingest_parameters.max_duration_s then 'handle_s.plausible'
        end as _rule
    from typed
    cross join ingest_parameters
)
select
    _line,
    interaction_id as _record_id,
    _rule,
    case _rule
        when 'interaction_id.required' then 'interaction_id is required'
        when 'interaction_id.length' then 'interaction_id has ' || length(interaction_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'agent_id.length' then 'agent_id has ' || length(agent_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.required' then 'subscriber_id is required'
        when 'subscriber_id.pattern' then 'subscriber_id ' || to_json(subscriber_id) || ' may contain only letters, digits, -, _ and . (it names files)'
        when 'subscriber_id.length' then 'subscriber_id has ' || length(subscriber_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.leading_dot' then 'subscriber_id ' || to_json(subscriber_id) || ' starts with a dot (it names files, which would be hidden)'
        when 'subscriber_id.reserved' then 'subscriber_id ' || to_json(subscriber_id) || ' names one of ccmeter''s own files (manifest, summary, anomalies, anomalies-summary, any case)'
        when 'channel.enum' then 'channel ' || coalesce(to_json(channel)::varchar, 'empty') || ' is not one of email, chat, whatsapp, webticket'
        when 'started_at.timestamp' then 'started_at ' || coalesce(to_json(started_at_text)::varchar, 'empty') || ' is not an ISO 8601 timestamp with an offset or Z'
        when 'ended_at.timestamp' then 'ended_at ' || coalesce(to_json(ended_at_text)::varchar, 'empty') || ' is not an ISO 8601 timestamp with an offset or Z'
        when 'started_at.offset' then 'started_at ' || to_json(started_at_text) || ' has a UTC offset beyond ±' || (ingest_parameters.max_utc_offset_s // 3600) || ':' || lpad((ingest_parameters.max_utc_offset_s % 3600 // 60)::varchar, 2, '0')
        when 'ended_at.offset' then 'ended_at ' || to_json(ended_at_text) || ' has a UTC offset beyond ±' || (ingest_parameters.max_utc_offset_s // 3600) || ':' || lpad((ingest_parameters.max_utc_offset_s % 3600 // 60)::varchar, 2, '0')
        when 'ended_at.order' then 'ended_at is before started_at'
        when 'handle_s.integer' then 'handle_s ' || coalesce(to_json(handle_s_text)::varchar, 'empty') || ' is not a whole number of seconds ≥ 0'
        when 'handle_s.plausible' then 'handle_s ' || handle_s || ' is more than the limit of ' || ingest_parameters.max_duration_s || ' s'
    end as _reason,
    interaction_id,
    subscriber_id,
    channel,
    started_at,
    ended_at,
    handle_s,
    agent_id
from checked
cross join ingest_parameters
