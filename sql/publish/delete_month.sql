-- Clears one billed month of an output table before it is written again (re-runnable).
delete from __table__ where month = $m
