-- The actions a service pack ledger consumes (pricing.md S1, S3): every answered
-- inbound call, interaction and work log rated by `service_pack` (routing is done in
-- `usage`) with a local date before $end, with its duration and units:
-- units = max(1, ceil(duration_s / unit_s)) in integer arithmetic.
-- Parameters: $end (date, exclusive), $unit_s (seconds per unit).
with actions as (
    select
        subscriber_id, feed, record_id, kind, started_at, local_at, local_date,
        case kind
            when 'call' then coalesce(talk_s, 0)
            when 'interaction' then coalesce(handle_s, 0)
            else coalesce(minutes, 0) * 60
        end as duration_s,
        activity, km
    from usage
    where family = 'service_pack' and kind in ('call', 'interaction', 'worklog') and local_date < $end
)
select
    subscriber_id, feed, record_id, kind, started_at, local_at, local_date, duration_s,
    greatest(1, (duration_s + $unit_s - 1) // $unit_s) as units,
    activity, km
from actions
order by subscriber_id, started_at, feed, record_id
