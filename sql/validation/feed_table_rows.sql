-- Rows in a feed's table; `__table__` is the table of the feed definition, from code.
select count(*) from __table__
