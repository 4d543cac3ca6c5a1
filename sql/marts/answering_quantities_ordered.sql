-- The answering quantities of the month (temp table answering_quantities) in a stable
-- order: subscriber, code, price epoch, quantity.
select subscriber_id, code, epoch, quantity
from answering_quantities
order by all
