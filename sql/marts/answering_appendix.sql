-- R3: every call and interaction of the month of the given subscribers (those with the
-- monthly specification option), in time order, with the line codes that rated it
-- (the rating relation, answering_charges, of these subscribers).
select
    u.subscriber_id,
    strftime(u.local_at, '%Y-%m-%d %H:%M:%S'),
    u.kind,
    u.record_id,
    u.caller_number,
    coalesce(u.talk_s, u.handle_s),
    codes.codes
from usage u
left join (
    select feed, record_id, string_agg(code, ' ' order by code) as codes
    from answering_charges($subs)
    group by all
) as codes using (feed, record_id)
where u.family = 'answering' and u.month = $m and u.kind <> 'worklog'
  and list_contains($subs, u.subscriber_id)
order by u.subscriber_id, u.local_at, u.record_id
