-- Records of `classified` per disposition: for subscriptions every valid record (load,
-- duplicate); for the other feeds only the duplicates and conflicts (the rest load).
select disposition, count(*)
from classified
group by all
