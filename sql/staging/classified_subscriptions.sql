-- Subscription rows keep every version (identity: subscriber, product, valid_from);
-- a row is a duplicate when it equals the version it would replace: the row before it
-- with the same identity in this file, or else the latest version already loaded (the
-- one the `subscriptions` view shows). A row that equals an older version but not the
-- latest one (a change that is reverted) is a new version and loads.
create or replace temp table classified as
with source as (
    select * from staged where _rule is null
),
latest as (
    select subscriber_id, product, valid_from, _hash
    from subscription_versions
    qualify row_number() over (
        partition by subscriber_id, product, valid_from
        order by _file desc, _file_id desc, _line desc
    ) = 1
),
ranked as (
    select
        source.*,
        lag(_hash) over (partition by subscriber_id, product, valid_from order by _line) as _previous_hash
    from source
),
joined as (
    select
        ranked.*,
        latest._hash as _latest_hash
    from ranked
    left join latest
        on latest.subscriber_id = ranked.subscriber_id and latest.product = ranked.product
       and latest.valid_from = ranked.valid_from
)
select
    * exclude (_reason),
    case when coalesce(_previous_hash, _latest_hash) = _hash then 'duplicate' else 'load' end as disposition,
    cast(null as varchar) as _reason
from joined
