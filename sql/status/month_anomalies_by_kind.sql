-- Anomalies of a month per kind, most frequent first.
with month_anomalies as (
    select * from anomalies where month = $m
)
select kind, count(*) as anomalies
from month_anomalies
group by kind
order by anomalies desc, kind
