-- R3: every call and interaction of the month of the given subscribers (those with the
-- monthly specification option), in time order, with the line codes that rated it
-- (the rating relation, temp table answering_charges).
select
    u.subscriber_id,
    strftime(u.local_at, '%Y-%m-%d %H:%M:%S'),
    u.kind,
    u.record_id,
    u.caller_number,
    coalesce(u.talk_s, u.handle_s),
    (select string_agg(c.code, ' ' order by c.code)
     from answering_charges c
     where c.record_id = u.record_id and c.feed = u.feed)
from usage u
where u.family = 'answering' and u.month = $m and u.kind <> 'worklog'
  and list_contains($subs, u.subscriber_id)
order by u.subscriber_id, u.local_at, u.record_id
