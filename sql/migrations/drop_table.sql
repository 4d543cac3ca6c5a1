-- Drops a table of an older shape (its rows were copied or are reloaded from files).
drop table if exists __table__
