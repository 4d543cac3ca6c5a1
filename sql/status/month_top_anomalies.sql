-- The month's ten most frequent anomalies per kind, rule and subscriber.
with month_anomalies as (
    select * from anomalies where month = $m
)
select kind, rule, subscriber_id, count(*) as anomalies
from month_anomalies
group by kind, rule, subscriber_id
order by anomalies desc, kind, rule, subscriber_id
limit 10
