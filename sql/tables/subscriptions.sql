create or replace view subscriptions as
with versions as (
    select
        *,
        row_number() over (
            partition by subscriber_id, product, valid_from
            order by _file desc, _file_id desc, _line desc
        ) as version_rank
    from subscription_versions
),
latest as (
    select * exclude (version_rank) from versions where version_rank = 1
)
select
    subscriber_id,
    product,
    quantity,
    valid_from,
    valid_to,
    params,
    valid_to is not null and valid_to <= valid_from as cancelled,
    _file,
    _line
from latest
