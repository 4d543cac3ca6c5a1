-- The warehouse's charge_codes as stored, in code order (compared with the registry so
-- that rating rewrites the table only when the registry changed).
select code, family, service, rule, unit, price_unit, divisor, display_order, tier, kind
from charge_codes
order by code
