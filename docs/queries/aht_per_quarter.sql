-- Average handling time per quarter (pricing M3) over the subscribers with messaging,
-- from the quarterly AHT evaluations (completed quarters; quarters by the subscriber's
-- local time). aht_s = total handle seconds / interactions (weighted by interactions).
-- Columns: quarter, subscribers, interactions, handle_s, aht_s, re_established.
select
    quarter,
    count(*) as subscribers,
    sum(interactions) as interactions,
    sum(handle_s) as handle_s,
    round(sum(handle_s) / nullif(sum(interactions), 0), 2) as aht_s,
    count(*) filter (where decision = 're-established') as re_established
from aht_evaluations
group by quarter
order by quarter
