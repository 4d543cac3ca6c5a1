-- Types and checks one file of subscription rows (temp table raw_records, all text).
-- Known product codes come from the temp table `ingest_parameters` (the tariff catalog).
create or replace temp table staged as
with source as (
    select * from raw_records
),
cleaned as (
    select
        _line,
        nullif(trim(subscriber_id), '') as subscriber_id,
        nullif(trim(product), '') as product,
        nullif(trim(quantity), '') as quantity_text,
        nullif(trim(valid_from), '') as valid_from_text,
        nullif(trim(valid_to), '') as valid_to_text,
        nullif(trim(params), '') as params_text
    from source
),
typed as (
    select
        *,
        case when quantity_text is null then 1
             when regexp_full_match(quantity_text, '[0-9]{1,9}') then cast(quantity_text as bigint) end as quantity,
        case when regexp_full_match(valid_from_text, '[0-9]{4}-[0-9]{2}-[0-9]{2}')
             then try_cast(valid_from_text as date) end as valid_from,
        case when regexp_full_match(valid_to_text, '[0-9]{4}-[0-9]{2}-[0-9]{2}')
             then try_cast(valid_to_text as date) end as valid_to,
        case when params_text is null then '{}'
             when json_valid(params_text) and json_type(params_text) = 'OBJECT' then params_text end as params
    from cleaned
),
checked as (
    select
        typed.*,
        case
            when subscriber_id is null then 'subscriber_id.required'
            when length(subscriber_id) > ingest_parameters.max_id_length then 'subscriber_id.length'
            when not file_safe_id(subscriber_id) then 'subscriber_id.pattern'
            when starts_with(subscriber_id, '.') then 'subscriber_id.leading_dot'
            when list_contains(ingest_parameters.reserved_ids, lower(subscriber_id)) then 'subscriber_id.reserved'
            when product is null then 'product.required'
            when not list_contains(ingest_parameters.product_codes, product) then 'product.known'
            when quantity is null or quantity < 1 then 'quantity.positive'
            when valid_from is null then 'valid_from.date'
            when valid_to_text is not null and valid_to is null then 'valid_to.date'
            when valid_to < valid_from then 'valid_to.order'
            when params is null then 'params.json_object'
        end as _rule
    from typed
    cross join ingest_parameters
)
select
    _line,
    coalesce(subscriber_id, '') || '/' || coalesce(product, '') || '/' || coalesce(valid_from_text, '') as _record_id,
    _rule,
    case _rule
        when 'subscriber_id.required' then 'subscriber_id is required'
        when 'subscriber_id.pattern' then 'subscriber_id ' || to_json(subscriber_id) || ' may contain only letters, digits, -, _ and . (it names files)'
        when 'subscriber_id.length' then 'subscriber_id has ' || length(subscriber_id) || ' characters, more than the limit of ' || ingest_parameters.max_id_length
        when 'subscriber_id.leading_dot' then 'subscriber_id ' || to_json(subscriber_id) || ' starts with a dot (it names files, which would be hidden)'
        when 'subscriber_id.reserved' then 'subscriber_id ' || to_json(subscriber_id) || ' names one of ccmeter''s own files (manifest, summary, anomalies, anomalies-summary, any case)'
        when 'product.required' then 'product is required'
        when 'product.known' then 'product ' || to_json(product) || ' is not a product code of the tariff catalog'
        when 'quantity.positive' then 'quantity ' || coalesce(to_json(quantity_text)::varchar, 'empty') || ' is not a whole number ≥ 1'
        when 'valid_from.date' then 'valid_from ' || coalesce(to_json(valid_from_text)::varchar, 'empty') || ' is not a date YYYY-MM-DD'
        when 'valid_to.date' then 'valid_to ' || to_json(valid_to_text) || ' is not a date YYYY-MM-DD'
        when 'valid_to.order' then 'valid_to is before valid_from'
        when 'params.json_object' then 'params is not a JSON object'
    end as _reason,
    subscriber_id,
    product,
    quantity,
    valid_from,
    valid_to,
    params,
    md5(concat_ws(chr(31), subscriber_id, product, cast(quantity as varchar), cast(valid_from as varchar),
        coalesce(cast(valid_to as varchar), ''), coalesce(cast(params as json)::varchar, ''))) as _hash
from checked
cross join ingest_parameters
