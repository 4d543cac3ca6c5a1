-- Usage of the month that no tariff family rates (G9 anomalies), with the reason.
select subscriber_id, feed, record_id, unrated_reason, kind
from usage
where month = $m and family is null
order by subscriber_id, local_at, record_id
