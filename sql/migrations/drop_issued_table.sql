-- Drops spec_headers or spec_lines of a warehouse from before manifests (they held
-- re-billable months; derived data, reloaded from the issued files). `__table__` is one
-- of those two names, from code.
drop table if exists __table__
