-- Stores a registered Arrow table (`__source__`) as temporary table `__table__`; both
-- identifiers come from code (checked by metering.db.materialise), never from data.
create or replace temp table __table__ as select * from __source__
