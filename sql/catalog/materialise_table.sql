-- Stores a registered Arrow table (`__source__`) as table `__table__`; both identifiers
-- come from code (checked by metering.db.materialise), never from data.
create or replace table __table__ as select * from __source__
