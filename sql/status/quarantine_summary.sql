-- Quarantined records per feed and rule (`ccmeter quarantine --summary`).
select feed, rule, count(*) as records
from quarantine
group by feed, rule
order by feed, rule
