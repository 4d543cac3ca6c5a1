-- Appends the rows of a billed month (registered Arrow table) to an output table.
insert into __table__ by name select * from publish_arrow
