-- Subscribers with usage rated by answering in the month.
select distinct subscriber_id
from usage
where family = 'answering' and month = $m
