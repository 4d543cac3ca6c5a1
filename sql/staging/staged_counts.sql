-- Records of the file that break a rule (quarantined), and all records staged.
select count(*) filter (where _rule is not null), count(*)
from staged
