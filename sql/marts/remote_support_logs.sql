-- The month's work logs rated by remote_support, per subscriber in time order.
select subscriber_id, record_id, activity, minutes, local_at, local_date
from usage
where family = 'remote_support' and month = $m
order by subscriber_id, local_at, record_id
