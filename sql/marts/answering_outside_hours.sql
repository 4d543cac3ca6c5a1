-- A1: calls and interactions of the month that start outside their plan's reachable
-- hours (registered table plan_hours: plan_product, [lo_s, hi_s) seconds of the local
-- day) or on a weekday the plan does not cover (`$weekdays`: 0 = Monday … 6 = Sunday);
-- they are rated normally and listed as anomalies.
with usage_seconds as (
    select
        u.*,
        hour(u.local_at) * 3600 + minute(u.local_at) * 60 + second(u.local_at) as local_s
    from usage u
    where u.family = 'answering' and u.month = $m and u.kind <> 'worklog'
)
select u.subscriber_id, u.feed, u.record_id, u.plan_product, strftime(u.local_at, '%Y-%m-%d %H:%M:%S')
from usage_seconds u
join plan_hours h using (plan_product)
where not (u.local_s >= h.lo_s and u.local_s < h.hi_s and list_contains($weekdays, isodow(u.local_at) - 1))
order by u.subscriber_id, u.local_at, u.record_id
