-- Appends the rows of one issued month (registered Arrow table issued_arrow) to an issued
-- table; `__table__` is one of metering.issued.ISSUED_TABLES, from code.
insert into __table__ by name select * from issued_arrow
