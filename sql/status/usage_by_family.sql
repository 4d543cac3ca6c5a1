-- Routed usage per tariff family ('unrated' where nothing rates a record, 'not usage'
-- for unanswered inbound legs), for the run's metadata.
with families as (
    select coalesce(nullif(family, 'none'), case when family = 'none' then 'not usage' else 'unrated' end) as family
    from usage
)
select family, count(*) as records
from families
group by family
order by family
