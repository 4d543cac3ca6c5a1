-- Types and checks one file of subscribers (temp table raw_records, all text).
create or replace temp table staged as
with source as (
    select * from raw_records
),
cleaned as (
    select
        _line,
        nullif(trim(subscriber_id), '') as subscriber_id,
        nullif(trim(name), '') as name,
        nullif(upper(trim(country)), '') as country,
        nullif(trim(address), '') as address,
        nullif(trim(vat_id), '') as vat_id,
        nullif(trim(email), '') as email,
        -- e-invoice fields: never a reason to quarantine (checked when the e-invoice is made)
        nullif(trim(street), '') as street,
        nullif(trim(city), '') as city,
        nullif(trim(postcode), '') as postcode,
        nullif(trim(company_id), '') as company_id,
        nullif(trim(peppol_id), '') as peppol_id,
        nullif(trim(buyer_reference), '') as buyer_reference
    from source
),
checked as (
    select
        cleaned.*,
        case
            when subscriber_id is null then 'subscriber_id.required'
            when length(subscriber_id) > ingest_parameters.max_id_length then 'subscriber_id.length'
            when not file_safe_id(subscriber_id) then 'subscriber_id.pattern'
            when starts_with(subscriber_id, '.') then 'subscriber_id.leading_dot'
            when list_contains(ingest_parameters.reserved_ids, lower(subscriber_id)) then 'subscriber_id.reserved'
            when name is null then 'name.required'
            when country is null or country not in ('NL', 'BE', 'DK') then 'country.enum'
        end as _own_rule
    from cleaned
    cross join ingest_parameters
),
loaded_folds as (
    -- ids already loaded, by their case-folded form (ids name files on case-insensitive drives)
    select lower(subscriber_id) as _fold, list(subscriber_id order by subscriber_id) as _loaded_ids
    from subscribers
    group by 1
),
folded as (
    -- the first valid row of this file with each case-folded id; a later row with the same
    -- id in another case collides with it (the same id exactly is a duplicate or conflict)
    select
        checked.*,
        loaded_folds._loaded_ids,
        case when _own_rule is null then first_value(subscriber_id) over (
            partition by _own_rule is null, lower(subscriber_id) order by _line) end as _first_id,
        case when _own_rule is null then first_value(_line) over (
            partition by _own_rule is null, lower(subscriber_id) order by _line) end as _first_line
    from checked
    left join loaded_folds on loaded_folds._fold = lower(checked.subscriber_id)
),
ruled as (
    select
        *,
        case
            when _own_rule is not null then _own_rule
            when _loaded_ids is not null and not list_contains(_loaded_ids, subscriber_id) then 'subscriber_id.case'
            when _first_id <> subscriber_id then 'subscriber_id.case'
        end as _rule
    from folded
)
select
    _line,
    subscriber_id as _record_id,
    _rule,
    case _rule
        when 'subscriber_id.required' then 'subscriber_id is required'
        when 'subscriber_id.pattern' then 'subscriber_id ' || to_json(subscriber_id) || ' may contain only letters, digits, -, _ and . (it names files)'
        when 'subscriber_id.length' then 'subscriber_id has ' || length(subscriber_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.leading_dot' then 'subscriber_id ' || to_json(subscriber_id) || ' starts with a dot (it names files, which would be hidden)'
        when 'subscriber_id.reserved' then 'subscriber_id ' || to_json(subscriber_id) || ' names one of ccmeter''s own files (manifest, summary, anomalies, anomalies-summary, any case)'
        when 'subscriber_id.case' then 'subscriber_id ' || to_json(subscriber_id) || ' equals '
            || case when _loaded_ids is not null and not list_contains(_loaded_ids, subscriber_id)
                    then to_json(_loaded_ids[1]) || ', loaded before,'
                    else to_json(_first_id) || ' (line ' || _first_line || ')' end
            || ' ignoring case (ids name files on case-insensitive drives)'
        when 'name.required' then 'name is required'
        when 'country.enum' then 'country ' || coalesce(to_json(country)::varchar, 'empty') || ' is not one of NL, BE, DK'
    end as _reason,
    subscriber_id,
    name,
    country,
    address,
    vat_id,
    email,
    street,
    city,
    postcode,
    company_id,
    peppol_id,
    buyer_reference
from ruled
cross join ingest_parameters
