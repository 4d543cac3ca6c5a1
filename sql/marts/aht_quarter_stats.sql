-- M3: per subscriber and quarter, the interactions rated by answering and their handling
-- time in seconds (count, sum): the inputs of the quarterly AHT evaluation.
select subscriber_id, year(local_date), quarter(local_date), count(*), sum(handle_s)
from usage
where family = 'answering' and kind = 'interaction'
group by all
