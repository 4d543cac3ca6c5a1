-- Appends the AHT evaluations of the completed quarters (registered Arrow table aht_arrow).
insert into aht_evaluations by name select * from aht_arrow
