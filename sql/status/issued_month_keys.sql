-- Every month with issued specifications, oldest first.
select distinct month from spec_headers order by month
