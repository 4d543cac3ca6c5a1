-- Valid records of the file per disposition: load, duplicate, conflict.
select disposition, count(*)
from classified
group by all
