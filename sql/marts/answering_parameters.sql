-- The parameters of the `answering` family's rating for one month, one row (read by
-- answering_days.sql, answering_charges.sql and rated_records_answering.sql instead of
-- session variables): the month, the first day of each price epoch after the first
-- (pricing.md T1: a record of local day d is in epoch = the number of these on or before
-- d), the seconds a call may last before the long-call surcharge (A4), the call kinds
-- whose talk abroad is charged (A6), and the plans with an allowance (A2).
create or replace temp table answering_parameters as
select
    cast($month as varchar) as month,
    cast($price_epochs as date[]) as price_epochs,
    cast($talk_over_s as bigint) as talk_over_s,
    cast($foreign_legs as varchar[]) as foreign_legs,
    cast($allowance_plans as varchar[]) as allowance_plans
