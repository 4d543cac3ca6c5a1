-- Subscription rows keep every version (identity: subscriber, product, valid_from);
-- a row identical to a version already loaded, or earlier in this file, is a duplicate.
create or replace temp table classified as
with source as (
    select * from staged where _rule is null
),
ranked as (
    select
        source.*,
        row_number() over (partition by subscriber_id, product, valid_from, _hash order by _line) as _rank_in_file
    from source
),
joined as (
    select
        ranked.*,
        exists (
            select 1 from subscription_versions as v
            where v.subscriber_id = ranked.subscriber_id and v.product = ranked.product
              and v.valid_from = ranked.valid_from and v._hash = ranked._hash
        ) as _seen
    from ranked
)
select
    * exclude (_reason),
    case when _seen or _rank_in_file > 1 then 'duplicate' else 'load' end as disposition,
    cast(null as varchar) as _reason
from joined
