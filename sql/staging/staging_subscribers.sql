-- Types and checks one file of subscribers (temp table raw_records, all text).
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
        *,
        case
            when subscriber_id is null then 'subscriber_id.required'
            when not regexp_full_match(subscriber_id, getvariable('id_pattern')) then 'subscriber_id.pattern'
            when name is null then 'name.required'
            when country is null or country not in ('NL', 'BE', 'DK') then 'country.enum'
        end as _rule
    from cleaned
)
select
    _line,
    subscriber_id as _record_id,
    _rule,
    case _rule
        when 'subscriber_id.required' then 'subscriber_id is required'
        when 'subscriber_id.pattern' then 'subscriber_id ' || to_json(subscriber_id) || ' may contain only letters, digits, -, _ and . (it names files)'
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
    buyer_reference,
    -- the e-invoice fields join the hash only when one is given, so a row without them
    -- keeps the hash it had before they existed (a re-sent old file stays a duplicate)
    md5(concat_ws(chr(31), subscriber_id, name, country, coalesce(address, ''), coalesce(vat_id, ''),
        coalesce(email, ''),
        case when coalesce(street, city, postcode, company_id, peppol_id, buyer_reference) is not null
            then concat_ws(chr(31), coalesce(street, ''), coalesce(city, ''), coalesce(postcode, ''),
                           coalesce(company_id, ''), coalesce(peppol_id, ''), coalesce(buyer_reference, ''))
        end)) as _hash
from checked
