-- The answering quantities of the month (temp table answering_quantities) in a stable
-- order: subscriber, code, price epoch, first day, quantity.
select subscriber_id, code, epoch, first_day, quantity
from answering_quantities
order by all
