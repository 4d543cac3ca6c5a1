-- Puts a table rebuilt in its current shape in the place of the old one.
alter table __source__ rename to __target__
