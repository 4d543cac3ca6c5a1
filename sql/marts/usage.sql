-- Every usage record of every feed, in the subscriber's local time (local_at) and local
-- date (local_date: the day and month it belongs to, pricing G3), with the tariff family
-- that rates it (pricing.md, finer points, "which family rates a record"). Fills the
-- `usage` table just (re)made by sql/tables/usage.sql: rebuilt whole whenever its inputs
-- change (metering/routed_usage.py), never appended to.
-- family is null when nothing rates it (an anomaly: unknown subscriber or no
-- subscription; unrated_reason says which), 'none' for unanswered inbound legs (not usage).
insert into usage by name
with call_legs as (
    select
        'calls' as feed, call_id as record_id, subscriber_id,
        case when call_type = 'inbound' then 'call' else call_type end as kind,
        started_at, answered_at is not null as answered, talk_s,
        cast(null as bigint) as handle_s, cast(null as bigint) as minutes, cast(null as decimal(18, 3)) as km,
        cast(null as varchar) as activity, cast(null as varchar) as channel,
        report, destination_country, caller_number, parent_call_id,
        cast(null as varchar) as consultant, cast(null as varchar) as description
    from calls
),
interaction_items as (
    select
        'interactions' as feed, interaction_id as record_id, subscriber_id, 'interaction' as kind,
        started_at, true as answered, cast(null as bigint) as talk_s, handle_s,
        cast(null as bigint) as minutes, cast(null as decimal(18, 3)) as km,
        cast(null as varchar) as activity, channel, '' as report, cast(null as varchar) as destination_country,
        cast(null as varchar) as caller_number, cast(null as varchar) as parent_call_id,
        agent_id as consultant, cast(null as varchar) as description
    from interactions
),
worklog_items as (
    select
        'worklogs' as feed, worklog_id as record_id, subscriber_id, 'worklog' as kind,
        started_at, true as answered, cast(null as bigint) as talk_s, cast(null as bigint) as handle_s,
        minutes, km, activity, cast(null as varchar) as channel, '' as report,
        cast(null as varchar) as destination_country, cast(null as varchar) as caller_number,
        cast(null as varchar) as parent_call_id, consultant, description
    from worklogs
),
source as (
    select * from call_legs
    union all by name select * from interaction_items
    union all by name select * from worklog_items
),
localised as (
    select
        source.*,
        zones.tz,
        zones.first_pack,
        zones.first_card,
        timezone(zones.tz, source.started_at) as local_at
    from source
    left join subscriber_zones as zones using (subscriber_id)
),
dated as (
    select *, cast(local_at as date) as local_date
    from localised
),
planned as (
    select dated.*, plans.product as plan_product
    from dated
    left join plan_segments as plans
        on plans.subscriber_id = dated.subscriber_id
        and plans.service = case
            when dated.kind in ('call', 'transfer', 'outbound') then 'phone'
            when dated.kind = 'interaction' and dated.channel <> 'webticket' then 'messaging'
        end
        and dated.local_date >= plans.seg_from and dated.local_date < plans.seg_to
),
flagged as (
    select
        planned.*,
        answering_days.subscriber_id is not null as answering_day,
        remote_days.subscriber_id is not null as remote_day,
        addon_days.subscriber_id is not null as klippekort_addon_day
    from planned
    left join route_spans as answering_days
        on planned.kind = 'worklog' and answering_days.kind = 'answering_any'
        and answering_days.subscriber_id = planned.subscriber_id
        and planned.local_date >= answering_days.seg_from and planned.local_date < answering_days.seg_to
    left join route_spans as remote_days
        on planned.kind = 'worklog' and remote_days.kind = 'remote_standard'
        and remote_days.subscriber_id = planned.subscriber_id
        and planned.local_date >= remote_days.seg_from and planned.local_date < remote_days.seg_to
    left join route_spans as addon_days
        on planned.kind = 'worklog' and addon_days.kind = 'klippekort_addon'
        and addon_days.subscriber_id = planned.subscriber_id
        and planned.local_date >= addon_days.seg_from and planned.local_date < addon_days.seg_to
),
routed as (
    select
        flagged.*,
        case
            when tz is null then null
            when kind = 'call' and not answered then 'none'
            when kind in ('call', 'transfer', 'outbound') and plan_product is not null then 'answering'
            when kind = 'call' and first_pack <= local_date then 'service_pack'
            when kind = 'interaction' and plan_product is not null then 'answering'
            when kind = 'interaction' and first_pack <= local_date then 'service_pack'
            when kind = 'worklog' and activity in ('training', 'admin') and answering_day then 'answering'
            when kind = 'worklog' and remote_day then 'remote_support'
            when kind = 'worklog' and first_pack <= local_date then 'service_pack'
            when kind = 'worklog' and (first_card <= local_date or klippekort_addon_day) then 'klippekort'
        end as family
    from flagged
)
select
    feed, record_id, subscriber_id, kind, started_at, local_at, local_date,
    -- an unknown subscriber has no time zone yet: its records are listed in their UTC month
    strftime(coalesce(local_date, cast(timezone('UTC', started_at) as date)), '%Y-%m') as month,
    answered, talk_s, handle_s, minutes, km, activity, channel, report,
    destination_country, caller_number, parent_call_id, consultant, description, plan_product,
    family,
    case
        when family is not null then null
        when tz is null then 'unknown_subscriber'
        when kind in ('transfer', 'outbound') and plan_product is null then 'no_phone_plan'
        else 'no_subscription'
    end as unrated_reason
from routed
