-- A few rows a failed GX SQL expectation found. `__query__` is the expectation's own
-- query (gx/<feed>.json, a file of the repository, its batch named by the feed's table
-- from code); `__rows__` a number from code. Run through GX's SQLAlchemy engine.
select * from (__query__) limit __rows__
