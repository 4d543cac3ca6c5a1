-- Subscription rows in force (not cancelled), per subscriber by valid_from and product,
-- with the file and line each came from (named in contract errors).
select subscriber_id, product, quantity, valid_from, valid_to, params, _file, _line
from subscriptions
where not cancelled
order by subscriber_id, valid_from, product
