-- Quantities of the `answering` family's usage lines for one month: the rating relation
-- (answering_charges.sql) summed per subscriber, line code and price epoch. A line is
-- one code at one unit price (G2); the unit price of an epoch comes from the tariff.
create or replace temp table answering_quantities as
select subscriber_id, code, epoch, sum(quantity) as quantity
from answering_charges(null)
group by all
having sum(quantity) > 0
