-- Contract errors of a month (subscribers not billed).
select count(*) as contract_errors from contract_errors where month = $m
